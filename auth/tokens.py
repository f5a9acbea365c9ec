"""API tokens (Bearer, for other systems) and kiosk tokens (one wall screen each).

A token is ``opsc_`` and 43 random URL-safe characters, shown once when created; the
store keeps its SHA-256 (a random 256-bit secret needs no slow hash). Revoking sets
``revoked_at``: the token's next request is refused.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, insert, select, update

from auth import audit
from store.schema import TOKEN_KINDS, TOKEN_SCOPES, tokens

PREFIX = "opsc_"
# last_used_at is written at most this often per token (a wall refreshes every few seconds).
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Token:
    id: int
    kind: str  # api | kiosk
    name: str
    scope: str  # read | operator (kiosk tokens: read)
    wall: str | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(engine: Engine, kind: str, name: str, *, scope: str = "read", wall: str | None = None,
                 actor: str = "cli", address: str = "", now: datetime | None = None) -> tuple[Token, str]:
    """Create a token; return it and its secret (shown once, never stored)."""
    if kind not in TOKEN_KINDS:
        raise ValueError(f"kind must be one of {', '.join(TOKEN_KINDS)}")
    if scope not in TOKEN_SCOPES:
        raise ValueError(f"scope must be one of {', '.join(TOKEN_SCOPES)}")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValueError("a token needs a name of 1 to 100 characters (what or where it is used)")
    if kind == "kiosk":
        if not wall:
            raise ValueError("a kiosk token names the wall it may show")
        if scope != "read":
            raise ValueError("kiosk tokens are read-only")
    elif wall:
        raise ValueError("only kiosk tokens name a wall")
    secret = PREFIX + secrets.token_urlsafe(32)
    at = now or datetime.now(timezone.utc)
    with engine.begin() as conn:
        token_id = conn.execute(insert(tokens).values(
            kind=kind, name=name, token_hash=token_hash(secret), scope=scope, wall=wall, created_by=actor[:64],
            created_at=at).returning(tokens.c.id)).scalar_one()
        audit.record(conn, actor, "token.create", f"{kind}:{token_id}", address=address,
                     detail=f"name={name} scope={scope}" + (f" wall={wall}" if wall else ""), now=at)
        row = conn.execute(select(tokens).where(tokens.c.id == token_id)).one()
    return _token(row), secret


def _token(row) -> Token:  # noqa: ANN001 - a Row of tokens
    return Token(**{k: v for k, v in row._mapping.items() if k != "token_hash"})


def find_token(engine: Engine, secret: str, now: datetime | None = None) -> Token | None:
    """The live (not revoked) token with this secret, or None; notes when it was used."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(tokens).where(tokens.c.token_hash == token_hash(secret),
                                                tokens.c.revoked_at.is_(None))).first()
    if row is None:
        return None
    at = now or datetime.now(timezone.utc)
    if row.last_used_at is None or at - row.last_used_at >= TOUCH_EVERY:
        with engine.begin() as conn:
            conn.execute(update(tokens).where(tokens.c.id == row.id).values(last_used_at=at))
    return _token(row)


def revoke_token(engine: Engine, token_id: int, *, actor: str = "cli", address: str = "",
                 now: datetime | None = None) -> bool:
    """Revoke; False if there is no such live token."""
    at = now or datetime.now(timezone.utc)
    with engine.begin() as conn:
        row = conn.execute(select(tokens.c.kind).where(tokens.c.id == token_id)).first()
        done = bool(conn.execute(update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                                 .values(revoked_at=at)).rowcount)
        if done:
            audit.record(conn, actor, "token.revoke", f"{row.kind}:{token_id}", address=address, now=at)
    return done


def list_tokens(engine: Engine, include_revoked: bool = False) -> list[Token]:
    query = select(tokens).order_by(tokens.c.id)
    if not include_revoked:
        query = query.where(tokens.c.revoked_at.is_(None))
    with engine.connect() as conn:
        return [_token(r) for r in conn.execute(query)]
