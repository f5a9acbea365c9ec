"""The app's secret key: signs session and CSRF cookies.

From ``SECRET_KEY`` when set (scaled out, every web worker must share one); otherwise
generated once into ``VAR_DIR/secret_key`` (mode 0600) and read from there on later starts.
Never in the repository.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from settings import Settings

FILE_NAME = "secret_key"


def secret_key(settings: Settings) -> str:
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    path = Path(settings.var_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting together agree on the first one written.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may have created it a moment ago and be writing it
            key = path.read_text(encoding="ascii").strip()
            if len(key) >= 32:
                return key
            time.sleep(0.05)
        raise RuntimeError(f"{path} holds no usable secret key; delete it to have a new one generated") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
