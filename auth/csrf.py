"""CSRF protection: a signed double-submit token.

Every browser gets a ``_csrf_token`` cookie (the name Dash's renderer reads: it sends the
value back as the ``X-CSRFToken`` header of each callback). A state-changing request
authenticated by a cookie must carry the same value in that header or, for plain HTML
forms, in a ``csrf_token`` field; the value is a random nonce signed with the app's
secret key, so another site can neither read nor plant a valid one.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "_csrf_token"
HEADER = "X-CSRFToken"
FIELD = "csrf_token"


def new_token(key: str) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_sign(key, nonce)}"


def _sign(key: str, nonce: str) -> str:
    return hmac.new(key.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def valid_cookie(key: str, token: str | None) -> bool:
    """Whether ``token`` is one this app issued."""
    if not token or token.count(".") != 1 or len(token) > 100:
        return False
    nonce, signature = token.split(".")
    return hmac.compare_digest(signature, _sign(key, nonce))


def check(key: str, cookie: str | None, sent: str | None) -> bool:
    """Whether the token ``sent`` with a request matches its (valid) cookie."""
    return valid_cookie(key, cookie) and bool(sent) and hmac.compare_digest(str(sent), str(cookie))
