"""Local accounts: create, change, look up, and check a login (with lockout).

User names are lower-case ``[a-z0-9._-]`` (3–64). Every change is written to the audit
log in the same transaction, with ``actor`` the admin (or "cli") who made it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from auth import audit
from auth.passwords import check_policy, hash_password, verify_password
from store.schema import ROLES, users

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
# Consecutive wrong passwords that lock an account, and for how long.
LOCK_AFTER = 10
LOCK_FOR = timedelta(minutes=15)


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    disabled: bool
    created_at: datetime
    password_changed_at: datetime
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None

    @property
    def label(self) -> str:
        """How the user is named in alerts' acknowledgements and the audit log."""
        return self.display_name or self.username


@dataclass(frozen=True)
class LoginResult:
    """A login attempt: ``user`` on success, else ``reason`` (unknown, wrong, locked, disabled)."""

    user: User | None
    reason: str = ""


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def check_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not USERNAME.match(name):
        raise ValueError("a user name has 3 to 64 characters: lower-case letters, digits, '.', '_' or '-'")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    return role


def _user(conn: Connection, username: str) -> User | None:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        return None
    fields = {k: v for k, v in row._mapping.items() if k != "password_hash"}
    return User(**fields)


def get_user(engine: Engine, username: str) -> User | None:
    with engine.connect() as conn:
        return _user(conn, (username or "").strip().lower())


def get_user_by_id(engine: Engine, user_id: int) -> User | None:
    with engine.connect() as conn:
        name = conn.execute(select(users.c.username).where(users.c.id == user_id)).scalar()
        return None if name is None else _user(conn, name)


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        names = conn.execute(select(users.c.username).order_by(users.c.username)).scalars().all()
        return [u for u in (_user(conn, n) for n in names) if u is not None]


def count_users(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(users)).scalar_one()


def create_user(engine: Engine, username: str, password: str, role: str, *, display_name: str = "",
                actor: str = "cli", address: str = "", now: datetime | None = None) -> User:
    """Create an account; ValueError for a bad name, role or weak password, or a name in use."""
    name, role = check_username(username), check_role(role)
    check_policy(password, name)
    at = _now(now)
    try:
        with engine.begin() as conn:
            conn.execute(insert(users).values(
                username=name, display_name=display_name.strip()[:200], role=role, password_hash=hash_password(password),
                disabled=False, created_at=at, password_changed_at=at, failed_logins=0))
            audit.record(conn, actor, "user.create", name, address=address, detail=f"role={role}", now=at)
            user = _user(conn, name)
    except IntegrityError:
        raise ValueError(f"the user name {name!r} is already taken") from None
    assert user is not None
    return user


def _change(engine: Engine, username: str, values: dict, action: str, detail: str, actor: str, address: str,
            now: datetime) -> User:
    name = (username or "").strip().lower()
    with engine.begin() as conn:
        if not conn.execute(update(users).where(users.c.username == name).values(**values)).rowcount:
            raise ValueError(f"no user {name!r}")
        audit.record(conn, actor, action, name, address=address, detail=detail, now=now)
        user = _user(conn, name)
    assert user is not None
    return user


def set_password(engine: Engine, username: str, password: str, *, actor: str = "cli", address: str = "",
                 now: datetime | None = None) -> User:
    """A new password (a reset also lifts a lockout)."""
    check_policy(password, (username or "").strip().lower())
    at = _now(now)
    return _change(engine, username, {"password_hash": hash_password(password), "password_changed_at": at,
                                      "failed_logins": 0, "locked_until": None},
                   "user.password", "", actor, address, at)


def _keep_an_admin(engine: Engine, username: str) -> None:
    """ValueError if ``username`` is the last enabled admin: someone must be able to manage accounts."""
    name = (username or "").strip().lower()
    with engine.connect() as conn:
        admins = conn.execute(select(users.c.username).where(users.c.role == "admin",
                                                             users.c.disabled.is_(False))).scalars().all()
    if admins == [name]:
        raise ValueError(f"{name!r} is the last enabled admin; make another admin first")


def set_role(engine: Engine, username: str, role: str, *, actor: str = "cli", address: str = "",
             now: datetime | None = None) -> User:
    if check_role(role) != "admin":
        _keep_an_admin(engine, username)
    return _change(engine, username, {"role": role}, "user.role", f"role={role}", actor, address, _now(now))


def set_disabled(engine: Engine, username: str, disabled: bool, *, actor: str = "cli", address: str = "",
                 now: datetime | None = None) -> User:
    if disabled:
        _keep_an_admin(engine, username)
    action = "user.disable" if disabled else "user.enable"
    return _change(engine, username, {"disabled": disabled}, action, "", actor, address, _now(now))


def authenticate(engine: Engine, username: str, password: str, now: datetime | None = None) -> LoginResult:
    """Check a login; count wrong passwords and lock the account after LOCK_AFTER in a row.

    A locked or disabled account is refused even with the right password. The caller
    records the outcome in the audit log (it knows the address).
    """
    at = _now(now)
    name = (username or "").strip().lower()
    with engine.begin() as conn:
        row = conn.execute(select(users).where(users.c.username == name)).first()
        if row is None:
            verify_password(None, password)
            return LoginResult(None, "unknown")
        if row.locked_until is not None and row.locked_until > at:
            return LoginResult(None, "locked")
        if not verify_password(row.password_hash, password):
            failed = row.failed_logins + 1
            locked = at + LOCK_FOR if failed >= LOCK_AFTER else None
            conn.execute(update(users).where(users.c.id == row.id).values(
                failed_logins=0 if locked else failed, locked_until=locked))
            return LoginResult(None, "locked_now" if locked else "wrong")
        if row.disabled:
            return LoginResult(None, "disabled")
        conn.execute(update(users).where(users.c.id == row.id).values(failed_logins=0, locked_until=None,
                                                                       last_login_at=at))
        return LoginResult(_user(conn, name))
