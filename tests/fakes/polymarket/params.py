"""Query parameters, parsed and refused the way the real APIs refuse them.

A refusal is raised as :class:`BadRequest` (or a subclass) anywhere in a route and answered with
the real status and body: ``{"error": "..."}`` on 400 and 404, and Gamma's
``{"type": "...", "error": "..."}`` on its 404 and 422.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from tests.fakes.polymarket.markets import Row

WALLET_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
CONDITION_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")


class BadRequest(Exception):
    """A query parameter the real API would refuse; answered as 400 ``{"error": ...}``."""

    status = 400
    error_type: str | None = None  # Gamma adds ``"type"`` to its error bodies

    def payload(self) -> Row:
        if self.error_type is None:
            return {"error": str(self)}
        return {"type": self.error_type, "error": str(self)}


class NotFound(BadRequest):
    """A lookup miss inside a known route (CLOB unknown token): 404, not 400."""

    status = 404


class GammaNotFound(NotFound):
    """Gamma's 404: ``{"type": "not found error", "error": ...}``."""

    error_type = "not found error"


class GammaValidation(BadRequest):
    """Gamma's 400: ``{"type": "validation error", "error": ...}`` (``/public-profile``)."""

    error_type = "validation error"


class Unprocessable(BadRequest):
    """Gamma's validation failure: 422 ``{"type": "validation error", "error": ...}``."""

    status = 422
    error_type = "validation error"


def query_int(
    query: Mapping[str, str],
    name: str,
    default: int,
    low: int,
    high: int,
    *,
    clamp: bool = False,
) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"invalid {name}: {raw!r} is not an integer") from None
    if value < low:
        raise BadRequest(f"{name} must be >= {low}")
    if value > high:
        if clamp:
            return high
        raise BadRequest(f"{name} must be <= {high}")
    return value


def query_choice(query: Mapping[str, str], name: str, allowed: Iterable[str], default: str) -> str:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    allowed = tuple(allowed)
    if raw not in allowed:
        raise BadRequest(f"invalid {name}: {raw!r}; allowed: {', '.join(allowed)}")
    return raw


def query_bool(query: Mapping[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise BadRequest(f"invalid {name}: {raw!r} is not a boolean")


def query_user(query: Mapping[str, str], *, required: bool) -> str | None:
    raw = query.get("user")
    if raw is None or raw == "":
        if required:
            raise BadRequest("user is required")
        return None
    if not WALLET_RE.match(raw):
        raise BadRequest("invalid user address")
    return raw.lower()


def query_float(query: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"invalid {name}: {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"invalid {name}: {raw!r}")
    return value
