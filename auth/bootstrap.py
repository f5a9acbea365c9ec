"""The first admin of a new installation, so ``make run`` stays one command."""
from __future__ import annotations

from sqlalchemy import Engine

from auth.accounts import count_users, create_user
from auth.passwords import generate_password
from settings import ConfigError, Settings

FIRST_ADMIN = "admin"


def ensure_first_admin(engine: Engine, settings: Settings) -> str | None:
    """With no account in the store, create ``admin``: password ``ADMIN_PASSWORD`` if set, else a
    generated one, returned (to be printed once). None when accounts exist or the password was given."""
    if count_users(engine):
        return None
    given = settings.admin_password.get_secret_value() if settings.admin_password else ""
    password = given or generate_password()
    try:
        create_user(engine, FIRST_ADMIN, password, "admin", display_name="Administrator", actor="system")
    except ValueError as exc:
        if "already taken" in str(exc):  # a second process made it at the same moment
            return None
        raise ConfigError(f"ADMIN_PASSWORD: {exc}") from None
    return None if given else password
