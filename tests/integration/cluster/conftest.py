"""The alert dispatcher's fixtures, shared with the two-leaders tests here."""

from tests.integration.test_alert_dispatcher import follows, make_dispatcher

__all__ = ["follows", "make_dispatcher"]
