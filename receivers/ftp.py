"""Optional FTP receiver: monitoring stations push their transmission files straight to the app.

Off by default. With ``FTP_ENABLED=true`` a small FTP server (pyftpdlib) runs in a daemon
thread and writes uploads into the drop folder of one ``station_files`` source
(``FTP_SOURCE``); that source's scheduled polls ingest them like any other file there.

- Accounts come from ``FTP_USERS`` (``user:password,user2:password2``). Each account
  uploads into its own folder, ``<drop folder>/<user>/``, which is its FTP root: it cannot
  see or reach another station's folder, nor the archive and quarantine folders.
- Permissions: change directory, list and store (``STOR``) only. Download, append,
  resume (``REST``), ``STOU``, delete, rename, make-directory and chmod are refused.
- An upload is written to a hidden part file beside its target (``.<name>.<random>.part``,
  which the ``station_files`` and ``files`` adapters never take because its name starts
  with a dot) and given its real name by one hard link once the transfer is complete, so
  the adapter never sees half a file. An upload cut short (``ABOR``, a reset data
  connection, a lost control connection, the receiver stopping) is deleted and logged.
- A name already waiting in the folder is never replaced: the same bytes again are
  dropped as a duplicate, different bytes are kept as ``<name>_1`` (which the adapter
  quarantines for an operator to look at: nothing is lost).
- In FTP's stream mode the end of the data connection *is* the end of the file: a
  station that closes its data connection cleanly after half a file has, by the
  protocol, sent that half. The adapter then rejects the cut-short last line as usual.

Run one receiver per drop folder: in a scaled-out deployment only the scheduler process
(``python cli.py scheduler``) starts it, never the web workers.
"""
from __future__ import annotations

import errno
import hmac
import logging
import os
import re
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.filesystems import AbstractedFS
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from data_sources.station_files import StationFilesAdapter
from settings import ConfigError, Settings
from source_config import SourceSpec

log = logging.getLogger(__name__)

#: cwd, list, store. No retrieve, append, delete, rename, mkdir, chmod, mtime.
PERMISSIONS = "elw"
_PART_SUFFIX = ".part"
_PART_NAME = re.compile(r"^\..+\.[0-9a-f]{12}\.part$")
_STALE_PART_SECONDS = 3600  # a part file this old at start-up belongs to a receiver that died
_LOOP_TIMEOUT = 0.5  # seconds one turn of the I/O loop may wait: how fast stop() is noticed
_MAX_CLASH_SUFFIX = 1000


@dataclass
class FtpReceiver:
    """A running receiver. ``address`` is the (host, port) it listens on; ``stop()`` ends it."""

    address: tuple[str, int]
    folder: Path
    homes: dict[str, Path]
    _thread: threading.Thread = field(repr=False)
    _stopping: threading.Event = field(repr=False)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Close the listener and every session (uploads in flight are discarded); wait for the thread."""
        self._stopping.set()
        self._thread.join(timeout)


def start_ftp_receiver(settings: Settings, specs: Iterable[SourceSpec]) -> FtpReceiver | None:
    """Start the receiver if ``settings.ftp_enabled``; None when it is off.

    Raises :class:`ConfigError` naming the setting to fix when the configuration cannot work.
    """
    if not settings.ftp_enabled:
        return None
    adapter = _station_files_adapter(settings.ftp_source, specs)
    accounts = settings.ftp_accounts
    if not accounts:
        raise ConfigError(
            "FTP_ENABLED is true but FTP_USERS lists no accounts; set FTP_USERS=user:password[,user2:password2]"
        )
    homes = _prepare_homes(adapter, accounts)
    handler = _handler_class(_Accounts(accounts, homes), settings.ftp_passive_port_range)
    server = _listen(settings, handler)
    stopping = threading.Event()
    thread = threading.Thread(target=_serve, args=(server, stopping), name="ftp-receiver", daemon=True)
    thread.start()
    address = (str(server.address[0]), int(server.address[1]))
    log.info(
        "FTP receiver listening on %s:%s for %d account(s); uploads go to %s/<user>/ (source %s)",
        *address, len(accounts), adapter.folder, settings.ftp_source,
    )
    return FtpReceiver(address, adapter.folder, homes, thread, stopping)


# ------------------------------------------------------------------------ configuration


def _station_files_adapter(name: str, specs: Iterable[SourceSpec]) -> StationFilesAdapter:
    specs = list(specs)
    usable = ", ".join(s.name for s in specs if s.kind == StationFilesAdapter.kind) or "none"
    if not name:
        raise ConfigError(
            "FTP_ENABLED is true but FTP_SOURCE is empty; set it to the name of a station_files "
            f"source of the sources file (station_files sources: {usable})"
        )
    spec = next((s for s in specs if s.name == name), None)
    if spec is None:
        raise ConfigError(
            f"FTP_SOURCE names {name!r}, which is not in the sources file; station_files sources: {usable}"
        )
    if spec.kind != StationFilesAdapter.kind or not isinstance(spec.adapter, StationFilesAdapter):
        raise ConfigError(
            f"FTP_SOURCE names {name!r}, a {spec.kind} source; the FTP receiver needs a station_files "
            f"source (station_files sources: {usable})"
        )
    adapter = spec.adapter
    if not adapter.options.recursive:
        raise ConfigError(
            f"FTP_SOURCE {name!r} has options.recursive: false, but the FTP receiver writes into a folder "
            "per account inside its drop folder; remove recursive: false from that source"
        )
    if not spec.enabled:
        log.warning("FTP_SOURCE %r is disabled in the sources file: uploads will wait until it is enabled", name)
    return adapter


def _prepare_homes(adapter: StationFilesAdapter, accounts: dict[str, str]) -> dict[str, Path]:
    """Each account's upload folder, ``<drop folder>/<user>``, created if missing."""
    reserved = {os.path.abspath(adapter.archive), os.path.abspath(adapter.quarantine)}
    homes: dict[str, Path] = {}
    for user in accounts:
        home = adapter.folder / user
        if os.path.abspath(home) in reserved:
            raise ConfigError(
                f"FTP_USERS: account {user!r} would upload into the source's archive or quarantine "
                f"folder {home}; choose another user name"
            )
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"FTP_SOURCE: cannot create the upload folder {home} ({exc.strerror or exc}); "
                "fix the source's options.folder or its permissions"
            ) from None
        _remove_stale_parts(home)
        homes[user] = home
    return homes


def _remove_stale_parts(home: Path) -> None:
    # Part files left by a receiver that was killed mid-upload: never ingested, only clutter.
    cutoff = time.time() - _STALE_PART_SECONDS
    for entry in os.scandir(home):
        try:
            if _PART_NAME.match(entry.name) and entry.is_file() and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                log.info("FTP receiver: removed %s, left by an upload that never finished", entry.path)
        except OSError:
            continue


def _listen(settings: Settings, handler: type[FTPHandler]) -> FTPServer:
    _quiet_library_logging()
    try:
        # A private I/O loop: pyftpdlib's default is one global loop per process.
        return FTPServer((settings.ftp_host, settings.ftp_port), handler, ioloop=IOLoop())
    except OSError as exc:
        raise ConfigError(
            f"FTP_HOST/FTP_PORT: cannot listen on {settings.ftp_host}:{settings.ftp_port} "
            f"({exc.strerror or exc}); choose a free port and an address of this machine"
        ) from None


def _quiet_library_logging() -> None:
    lib = logging.getLogger("pyftpdlib")
    if not lib.handlers:
        lib.addHandler(logging.NullHandler())  # else pyftpdlib installs its own stderr handler
    if lib.level == logging.NOTSET:
        lib.setLevel(logging.WARNING)  # its INFO lines (one per login and transfer) would flood the log


# ------------------------------------------------------------------------------ server


def _serve(server: FTPServer, stopping: threading.Event) -> None:
    try:
        while not stopping.is_set():
            server.serve_forever(timeout=_LOOP_TIMEOUT, blocking=False, handle_exit=False)
    except Exception:  # logged; the app goes on without the receiver
        log.exception("FTP receiver stopped by an error")
    finally:
        _shut_down(server)


def _shut_down(server: FTPServer) -> None:
    sessions = [c for c in list(server.ioloop.socket_map.values()) if isinstance(c, StationUploadHandler)]
    server.close_all()  # closes data channels: uploads in flight end as incomplete and are discarded
    for session in sessions:
        session.discard_pending("the receiver stopped")
    log.info("FTP receiver stopped")


class _Accounts(DummyAuthorizer):
    """The configured accounts, each confined to its own upload folder."""

    def __init__(self, accounts: dict[str, str], homes: dict[str, Path]) -> None:
        super().__init__()
        for user, password in accounts.items():
            self.add_user(user, password, str(homes[user]), perm=PERMISSIONS, msg_login="Login successful.")

    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        # Constant-time comparison, also for unknown users, so timing tells nothing.
        known = self.has_user(username)
        expected = self.user_table[username]["pwd"] if known else secrets.token_hex(16)
        if not (hmac.compare_digest(expected.encode(), password.encode()) and known):
            raise AuthenticationFailed("Authentication failed.")


class _StaysPutFS(AbstractedFS):
    """pyftpdlib's file system view without ``os.chdir``.

    The stock ``chdir`` changes the process's working directory for a moment; the web and
    scheduler threads of this process must never see that.
    """

    def chdir(self, path: str) -> None:
        if not os.path.isdir(path):
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        self.cwd = self.fs2ftp(path)


class _UploadDataChannel(DTPHandler):
    """pyftpdlib's data channel, except that a broken connection ends an upload as incomplete.

    pyftpdlib takes a reset data connection like a clean close, which in stream mode means
    "end of file": a station that gave up half-way would have its half stored as complete.
    """

    def handle_close(self) -> None:
        if self.receive and not self._closed and _broken(self):
            self._resp = ("426 Data connection broken; upload discarded.", log.debug)
            self.close()  # transfer_finished is still False: on_incomplete_file_received follows
            return
        super().handle_close()


def _broken(channel: DTPHandler) -> bool:
    # pyftpdlib's recv() calls handle_close() from its except block on a reset, and from
    # its else block on a clean end of stream: the exception being handled tells them apart.
    if isinstance(sys.exc_info()[1], OSError):
        return True
    try:
        return channel.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0  # error not read yet
    except OSError:
        return True


class StationUploadHandler(FTPHandler):
    """One FTP session: uploads go to hidden part files and get their name only when complete."""

    abstracted_fs = _StaysPutFS
    dtp_handler = _UploadDataChannel
    banner = "Station data receiver ready."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._uploads: dict[str, str] = {}  # part file -> the name it gets when complete
        super().__init__(*args, **kwargs)

    def ftp_STOR(self, file: str, mode: str = "w") -> str | None:
        if "a" in mode or self._restart_position:
            self._restart_position = 0
            self.respond("554 Appending or resuming is not supported; send the whole file with STOR.")
            return None
        name = os.path.basename(file)
        if name.startswith("."):
            self.respond("553 File names starting with '.' are not accepted.")
            return None
        part = os.path.join(os.path.dirname(file), f".{name}.{secrets.token_hex(6)}{_PART_SUFFIX}")
        if super().ftp_STOR(part, mode) is None:
            return None  # could not open it; pyftpdlib has answered the client
        self._uploads[part] = file
        return file

    def ftp_STOU(self, line: str) -> None:
        self.respond("502 STOU is not supported; use STOR with the file's own name.")

    def on_file_received(self, file: str) -> None:
        final = self._uploads.pop(file, None)
        if final is None:
            return
        try:
            landed = publish(Path(file), Path(final))
        except OSError as exc:
            log.error("FTP upload %s by %s is complete but cannot be named (%s); kept as %s",
                      os.path.basename(final), self.username, exc, file)
            return
        log.debug("FTP upload by %s stored as %s", self.username, landed)

    def on_incomplete_file_received(self, file: str) -> None:
        final = self._uploads.pop(file, None)
        if final is not None:
            _discard(file, final, self.username, "the transfer was cut short")

    def on_disconnect(self) -> None:
        self.discard_pending("the session ended before the transfer")

    def on_login_failed(self, username: str, password: str) -> None:
        log.warning("FTP login refused for user %r from %s", username, self.remote_ip)  # never the password

    def discard_pending(self, reason: str) -> None:
        """Delete the part files of uploads that never completed (e.g. STOR without a data connection)."""
        while self._uploads:
            part, final = self._uploads.popitem()
            _discard(part, final, self.username, reason)


def _handler_class(authorizer: _Accounts, passive_ports: range) -> type[StationUploadHandler]:
    # pyftpdlib configures handlers through class attributes: one subclass per receiver.
    attrs = {"authorizer": authorizer, "passive_ports": list(passive_ports)}
    return type("ReceiverHandler", (StationUploadHandler,), attrs)


# ------------------------------------------------------------------------------- files


def publish(part: Path, final: Path) -> Path:
    """Give a complete upload its name atomically, never replacing a file that waits there.

    Returns where it landed. A waiting file with the same bytes makes this upload a
    duplicate (the part is dropped); different bytes land as ``<stem>_1<suffix>``, ``_2``...
    """
    for n in range(_MAX_CLASH_SUFFIX):
        target = final if n == 0 else final.with_name(f"{final.stem}_{n}{final.suffix}")
        if _link(part, target):
            part.unlink(missing_ok=True)  # already gone if it was renamed rather than linked
            if n:
                log.warning("FTP upload %s clashed with a different waiting file; kept as %s", final.name, target.name)
            return target
        if _same_bytes(part, target):
            part.unlink()
            log.info("FTP upload %s is a duplicate of the waiting %s; dropped", final.name, target.name)
            return target
    raise OSError(errno.EEXIST, f"no free name for {final.name} after {_MAX_CLASH_SUFFIX} tries", str(final))


def _link(src: Path, dst: Path) -> bool:
    """Create ``dst`` as ``src`` in one step; False if ``dst`` exists (a hard link never replaces)."""
    try:
        os.link(src, dst)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
            raise
    # No hard links on this file system: a rename is still atomic; only this thread writes here.
    if os.path.lexists(dst):
        return False
    os.rename(src, dst)
    return True


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return b.is_file() and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _discard(part: str, final: str, user: str | None, reason: str) -> None:
    try:
        size = os.path.getsize(part)
        os.unlink(part)
    except FileNotFoundError:
        return
    except OSError as exc:
        log.error("FTP upload %s by %s: %s, and its part file %s cannot be deleted (%s)",
                  os.path.basename(final), user, reason, part, exc)
        return
    log.warning("FTP upload %s by %s discarded after %d bytes: %s; the station must send it again",
                os.path.basename(final), user, size, reason)


__all__ = ["PERMISSIONS", "FtpReceiver", "StationUploadHandler", "publish", "start_ftp_receiver"]
