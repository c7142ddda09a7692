"""Fixtures of the alert dispatcher's and the leaderboard's tests, shared with the two-leaders
tests here."""

from tests.integration.test_alert_dispatcher import make_dispatcher
from tests.integration.test_leaderboard_service import fake, make_service

__all__ = ["fake", "make_dispatcher", "make_service"]  # follows: tests/integration/conftest.py
