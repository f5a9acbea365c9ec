"""Password hashing and the password policy of local accounts.

Hashes are werkzeug's scrypt (a memory-hard key derivation with a per-password salt); a
hash names its method, so a stronger one can be introduced later and old hashes still verify.
"""
from __future__ import annotations

import secrets
import string

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
MAX_LENGTH = 200
METHOD = "scrypt"
# Computed once: verifying an unknown user's password against it costs as long as a real
# check, so response times do not tell which user names exist.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16), method=METHOD)


def check_policy(password: str, username: str = "") -> None:
    """Raise ValueError (a sentence for the person choosing it) if ``password`` is too weak."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"the password must have at most {MAX_LENGTH} characters")
    if username and username.lower() in password.lower():
        raise ValueError("the password must not contain the user name")
    if len(set(password)) < 5:
        raise ValueError("the password must not repeat a few characters")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=METHOD)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (unknown user) it still takes a hash's time."""
    if password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)


def generate_password(length: int = 20) -> str:
    """A random password (letters and digits, no look-alikes) for a first admin or a reset."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
    return "".join(secrets.choice(alphabet) for _ in range(length))
