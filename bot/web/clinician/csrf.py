"""Cross-site request forgery checks: token comparison and the Origin/Referer host test."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import web

FIELD = "csrf_token"


def tokens_match(expected: str | None, given: object) -> bool:
    """Constant-time equality of two non-empty tokens."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def same_origin(request: web.Request) -> bool:
    """False when Origin (or, without it, Referer) names another host than the request's.

    Neither header present is allowed: the token check still applies. So is `Origin: null`,
    which browsers send on every POST from a page with `Referrer-Policy: no-referrer` (ours).
    Scheme is not compared so the server works behind a TLS-terminating proxy that keeps Host.
    """
    host = request.host.lower()
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        return _host_of(origin) == host
    referer = request.headers.get("Referer")
    if referer is not None:
        return _host_of(referer) == host
    return True


def _host_of(url: str) -> str | None:
    try:
        return urlsplit(url).netloc.lower() or None
    except ValueError:
        return None
