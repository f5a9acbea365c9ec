"""Source kind ``ntrip``: GNSS reference stations (VNGEONET) from an NTRIP caster's source table.

Every poll asks the caster for its source table (``GET /``) and turns each ``STR``
record (one stream, i.e. one mount point) into a ``gnss_station`` entity with an ``up``
reading of 1. A mount point that was expected but is missing from the table gets
``up`` = 0: the station is down. A sources-file entry::

    - name: vngeonet
      kind: ntrip
      every: 5m
      timeout: 60
      options:
        host: caster.vngeonet.vn
        port: 2101                     # default 2101, the NTRIP port
        version: auto                  # 1, 2 or auto (default: ask in v2, fall back to v1)
        user: ioc-dashboard            # optional: HTTP Basic auth ...
        password_env: NTRIP_PASSWORD   # ... password read from this environment variable
        agent: IOC-Dashboard/1.0       # sent as "User-Agent: NTRIP <agent>"
        request_timeout: 10            # seconds per attempt (default 10)
        retries: 2                     # extra attempts on refused/reset/timed-out connections (default 2)
        backoff_seconds: 0.5           # wait before the first retry, doubled each time
        code_template: "GNSS-{mountpoint}"   # entity code of a mount point (default) ...
        codes: {HANO: HNI-GNSS-01}     # ... or an explicit mapping (wins over the template)
        networks: [VNGEONET]           # optional: keep only STR records of these networks
        skip_network_streams: true     # skip STR records with solution=1 (VRS/MAC products, not stations)
        station_types: {HANO: geodetic}      # optional: mount point -> geodetic | network_rtk
        default_station_type: network_rtk    # for the others (41 of VNGEONET's 65 are network-RTK)
        expected_mountpoints: [HANO, HCM1]   # reported down (up = 0) when missing from the table
        stamp_seconds: 300             # readings are stamped at the poll time rounded down to this
        availability_metric: availability_pct   # also emit 100 × up under this name (null: don't)

**Model.** Entity code from ``codes``, else ``code_template``; name = the STR
identifier (the mount point if empty); lat/lon from the record; ``province_code`` =
the province (``reference/provinces.py``) whose centroid is nearest, when the record
has a position and its country is Vietnam or blank; ``subtype`` and ``meta.station_type``
= ``station_types`` / ``default_station_type``; ``meta`` also holds mountpoint, format,
nav_system, network and country. Readings: ``up`` (1/0, no unit), stamped at the poll
time rounded down to ``stamp_seconds`` so a repeated poll in the same slot overwrites
rather than adds a reading.

**Down stations.** A mount point counts as expected when it is in
``expected_mountpoints`` or this process has seen it in an earlier table; when it is
missing, its entity gets ``up`` = 0 (the entity itself is not re-sent, so the details
stored from earlier polls are kept). An expected mount point never seen and never
stored is quarantined as "unknown entity code": declare it by seeing it once, or drop it.
A process restart forgets the "seen" set, so list the network's stations in
``expected_mountpoints`` for down stations to be reported right after a restart (without
that, a missing station simply stops getting readings, which the ``GNSS-01`` count,
``max_age: 2h``, also treats as not up).

**Availability per day.** The adapter has no access to the store, so it cannot compute
yesterday's availability from the stored ``up`` history. Instead, with
``availability_metric`` set (the default), every poll also emits ``availability_pct`` =
100 × up: the mean of a day's readings is the day's availability in %, which is what the
``GNSS-02`` KPI (``method: mean``, ``window: last_complete``) computes. Polls that fail
(caster unreachable) give no reading, so they count neither as up nor as down.

**Failures.** Connection refused, timeout, reset (retried), 401/403 (bad credentials,
not retried), an HTTP error, an answer that is not a source table, or a table cut off
before ``ENDSOURCETABLE`` fail the whole poll with a :class:`SourceError` saying why;
no station is marked down on a failed poll. A malformed ``STR`` record (no mount point,
a latitude that is not a number, a duplicate mount point) or an unknown record type is
quarantined with its reason and raw line; the others are kept. A malformed record whose
mount point is readable is neither up nor down for that poll.

**Protocol.** Version 2 asks ``GET / HTTP/1.1`` with ``Ntrip-Version: Ntrip/2.0``;
the caster answers ``HTTP/1.1 200 OK``, ``Content-Type: gnss/sourcetable`` (plain or
chunked body). Version 1 asks ``GET / HTTP/1.0`` and the caster answers
``SOURCETABLE 200 OK``, which is not HTTP: hence a raw socket rather than an HTTP
library, for both versions. Lines may end in CRLF or LF; each line is decoded as
UTF-8, or Latin-1 when it is not valid UTF-8 (older casters), so Vietnamese
identifiers survive.
"""
from __future__ import annotations

import base64
import math
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from data_sources.base import Adapter, Batch, Entity, Options, PollContext, Reading, Rejected, SourceError
from data_sources.registry import register
from data_sources.retry import Retryable, poll_deadline, within_deadline
from data_sources.tabular import check_env_name
from reference.provinces import all_provinces

_END = b"ENDSOURCETABLE"
_DEFAULT_MAX_BYTES = 5 * 1024 * 1024  # a national source table is a few hundred kB at most
_SNIPPET = 120
# STR field positions (after the leading "STR").
_STR_FIELDS = (
    "mountpoint", "identifier", "format", "format_details", "carrier", "nav_system", "network", "country",
    "latitude", "longitude", "nmea", "solution", "generator", "compression", "authentication", "fee", "bitrate",
    "misc",
)
StationType = Literal["geodetic", "network_rtk"]


class NtripOptions(Options):
    host: str = Field(min_length=1)
    port: int = Field(default=2101, ge=1, le=65535)
    version: Literal["1", "2", "auto"] = "auto"
    user: str | None = None
    password_env: str | None = None
    agent: str = Field(default="IOC-Dashboard/1.0", min_length=1)
    request_timeout: float = Field(default=10.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0)
    max_bytes: int = Field(default=_DEFAULT_MAX_BYTES, gt=0)
    code_template: str = "GNSS-{mountpoint}"
    codes: dict[str, str] = Field(default_factory=dict)
    networks: list[str] = Field(default_factory=list)
    skip_network_streams: bool = True
    station_types: dict[str, StationType] = Field(default_factory=dict)
    default_station_type: StationType = "network_rtk"
    expected_mountpoints: list[str] = Field(default_factory=list)
    stamp_seconds: int = Field(default=300, ge=1, le=86400)
    availability_metric: str | None = "availability_pct"
    # Listed is not enough: with probe_streams each listed station's stream is opened and
    # must send data within probe_seconds, or the station counts as down.
    probe_streams: bool = False
    probe_seconds: float = Field(default=3.0, gt=0, le=60)
    probe_workers: int = Field(default=8, ge=1, le=64)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: object) -> object:
        # YAML reads "version: 2" as an integer.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, value: str | None) -> str | None:
        return None if value is None else check_env_name(value, example="NTRIP_PASSWORD")

    @field_validator("code_template")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            value.format(mountpoint="X")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"code_template {value!r} may only use {{mountpoint}} ({exc})") from None
        if "{mountpoint}" not in value:
            raise ValueError(f"code_template {value!r} must contain {{mountpoint}}, e.g. GNSS-{{mountpoint}}")
        return value

    @model_validator(mode="after")
    def _auth(self) -> NtripOptions:
        if (self.user is None) != (self.password_env is None):
            raise ValueError("give both 'user' and 'password_env' for Basic auth, or neither")
        return self


# ---------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class Stream:
    """One STR record of a source table."""

    mountpoint: str
    identifier: str
    format: str
    nav_system: str
    network: str
    country: str
    lat: float | None
    lon: float | None
    solution: str
    raw: str


@dataclass
class SourceTable:
    """What a source table holds; ``rejected`` are the records that could not be read."""

    streams: list[Stream] = field(default_factory=list)
    casters: int = 0
    networks: int = 0
    rejected: list[tuple[str, str, str | None]] = field(default_factory=list)  # (reason, raw line, mountpoint)


def decode_line(raw: bytes) -> str:
    """UTF-8, else Latin-1: old casters write identifiers in a single-byte code page."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _coordinate(text: str, name: str, limit: float) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ValueError(f"{name} {text!r} is outside ±{limit:g}")
    return value


def parse_str(line: str) -> Stream:
    """One ``STR;...`` line → :class:`Stream`; ValueError with the reason if unusable.

    Missing trailing fields are blank and extra ones are folded into ``misc`` (the last
    field, free text that may itself contain ``;``).
    """
    parts = line.split(";")[1:]
    if len(parts) > len(_STR_FIELDS):
        parts = parts[: len(_STR_FIELDS) - 1] + [";".join(parts[len(_STR_FIELDS) - 1 :])]
    values = dict(zip(_STR_FIELDS, [p.strip() for p in parts]))
    mountpoint = values.get("mountpoint", "")
    if not mountpoint:
        raise ValueError("STR record without a mount point")
    if any(ch.isspace() or ch == "/" for ch in mountpoint) or len(mountpoint) > 60:
        raise ValueError(f"mount point {mountpoint!r} is not a valid name")
    lat = _coordinate(values.get("latitude", ""), "latitude", 90)
    lon = _coordinate(values.get("longitude", ""), "longitude", 180)
    if lon is not None and lon > 180:
        lon -= 360
    if (lat is None) != (lon is None):
        raise ValueError("STR record with only one of latitude and longitude")
    return Stream(
        mountpoint=mountpoint,
        identifier=values.get("identifier", ""),
        format=values.get("format", ""),
        nav_system=values.get("nav_system", ""),
        network=values.get("network", ""),
        country=values.get("country", ""),
        lat=lat,
        lon=lon,
        solution=values.get("solution", ""),
        raw=line,
    )


def parse_source_table(body: bytes) -> SourceTable:
    """Read records up to ``ENDSOURCETABLE``; raise SourceError if the table is cut off."""
    table = SourceTable()
    seen: set[str] = set()
    ended = False
    for raw in body.split(b"\n"):
        line = decode_line(raw.rstrip(b"\r")).strip().lstrip("\ufeff")
        if not line:
            continue
        if line == "ENDSOURCETABLE":
            ended = True
            break
        kind = line.split(";", 1)[0].strip().upper()
        if kind == "STR":
            try:
                stream = parse_str(line)
            except ValueError as exc:
                mount = line.split(";")[1].strip() if line.count(";") >= 1 else ""
                table.rejected.append((str(exc), line, mount or None))
                continue
            if stream.mountpoint in seen:
                table.rejected.append((f"mount point {stream.mountpoint!r} listed twice", line, None))
                continue
            seen.add(stream.mountpoint)
            table.streams.append(stream)
        elif kind == "CAS":
            table.casters += 1
        elif kind == "NET":
            table.networks += 1
        else:
            table.rejected.append((f"unknown record type {kind[:20]!r} (expected STR, CAS or NET)", line, None))
    if not ended:
        raise SourceError(
            f"source table ended without ENDSOURCETABLE after {len(table.streams)} STR records "
            "(cut off?); no station is marked down on a partial table"
        )
    return table


def nearest_province(lat: float, lon: float) -> str:
    """Code of the province whose centroid is nearest (equirectangular distance is enough here)."""
    scale = math.cos(math.radians(lat))
    return min(all_provinces(), key=lambda p: (p.lat - lat) ** 2 + ((p.lon - lon) * scale) ** 2).code


# --------------------------------------------------------------------------- protocol


@dataclass
class _Answer:
    status_line: str
    headers: dict[str, str]
    body: bytes


def _snippet(data: bytes) -> str:
    text = " ".join(decode_line(data[:_SNIPPET]).split())
    return text + ("..." if len(data) > _SNIPPET else "")


def _dechunk(body: bytes) -> bytes:
    """Decode an HTTP/1.1 chunked body (v2 casters may send the table chunked)."""
    out = bytearray()
    rest = body
    while True:
        line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            raise SourceError("chunked source table is cut off (no chunk size line)")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise SourceError(f"chunked source table has a bad chunk size {_snippet(line)!r}") from None
        if size == 0:
            return bytes(out)
        if len(rest) < size:
            # Cut off mid-chunk: keep what came; the ENDSOURCETABLE check decides.
            out.extend(rest)
            return bytes(out)
        out.extend(rest[:size])
        rest = rest[size:]
        if rest.startswith(b"\r\n"):
            rest = rest[2:]


class NtripClient:
    """Fetch a caster's source table over a raw TCP socket (v1 answers are not HTTP)."""

    def __init__(self, options: NtripOptions) -> None:
        self.options = options
        self.where = f"NTRIP caster {options.host}:{options.port}"

    def request(self, version: Literal["1", "2"], path: str = "/") -> bytes:
        opts = self.options
        lines = [f"GET {path} HTTP/{'1.1' if version == '2' else '1.0'}"]
        if version == "2":
            lines += [f"Host: {opts.host}:{opts.port}", "Ntrip-Version: Ntrip/2.0"]
        lines.append(f"User-Agent: NTRIP {opts.agent}")
        if opts.user is not None and opts.password_env is not None:
            password = os.environ.get(opts.password_env)
            if password is None or password == "":
                state = "is not set" if password is None else "is empty"
                raise SourceError(f"environment variable {opts.password_env} {state}; set it to the NTRIP password of {opts.user}")
            token = base64.b64encode(f"{opts.user}:{password}".encode()).decode("ascii")
            lines.append(f"Authorization: Basic {token}")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def exchange(self, version: Literal["1", "2"], timeout: float) -> _Answer:
        """One connection: send the request, read the answer (headers, then the table)."""
        opts = self.options
        try:
            with socket.create_connection((opts.host, opts.port), timeout=timeout) as sock:
                sock.settimeout(timeout)
                sock.sendall(self.request(version))
                data = self._read(sock, timeout)
        except ConnectionRefusedError:
            raise Retryable(f"{self.where} refused the connection (is the caster running on that port?)") from None
        except TimeoutError:
            raise Retryable(f"{self.where} did not answer within {timeout:g} s") from None
        except socket.gaierror as exc:
            raise SourceError(f"cannot resolve the host of the {self.where}: {exc}") from None
        except OSError as exc:
            raise Retryable(f"cannot talk to the {self.where}: {exc.strerror or exc}") from None
        return self._split(data)

    def stream_flows(self, mountpoint: str, version: Literal["1", "2"], timeout: float) -> bool:
        """Whether the caster serves ``mountpoint`` and its data arrives within ``timeout``."""
        try:
            with socket.create_connection((self.options.host, self.options.port), timeout=timeout) as sock:
                deadline = time.monotonic() + timeout
                sock.sendall(self.request(version, "/" + mountpoint))
                data = bytearray()
                while time.monotonic() < deadline:
                    sock.settimeout(max(0.05, deadline - time.monotonic()))
                    chunk = sock.recv(4096)
                    if not chunk:
                        return False
                    data.extend(chunk)
                    head_end = _head_end(data)
                    if head_end is None:
                        if len(data) > 16384:
                            return False
                        continue
                    if b" 200" not in bytes(data[:head_end]).split(b"\n", 1)[0]:
                        return False  # refused, unknown mount point, or handed the source table
                    if len(data) > head_end:
                        return True
        except (OSError, TimeoutError, SourceError):
            return False
        return False

    def _read(self, sock: socket.socket, timeout: float) -> bytes:
        """Read the answer; stop at its end even if the caster keeps the connection open.

        The end is EOF, the headers of a non-200 answer (the status says it all), the
        last chunk of a chunked table, or the ENDSOURCETABLE line of a plain one.
        """
        deadline = time.monotonic() + timeout
        data = bytearray()
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError
            chunk = sock.recv(65536)
            if not chunk:
                return bytes(data)
            data.extend(chunk)
            if len(data) > self.options.max_bytes:
                raise SourceError(f"{self.where} sent more than max_bytes ({self.options.max_bytes}); not a source table")
            head_end = _head_end(data)
            if head_end is None:
                continue
            head = bytes(data[:head_end]).lower()
            if b" 200" not in head.split(b"\n", 1)[0]:
                return bytes(data)
            body = data[head_end:]
            if b"transfer-encoding: chunked" in head:
                if body.endswith(b"0\r\n\r\n") and (len(body) == 5 or body.endswith(b"\n0\r\n\r\n")):
                    return bytes(data)
            elif body.startswith(_END) or b"\n" + _END in body:
                return bytes(data)

    def _split(self, data: bytes) -> _Answer:
        if not data:
            raise Retryable(f"{self.where} closed the connection without answering")
        head_end = _head_end(data)
        if head_end is None:
            first = data.split(b"\n", 1)[0]
            raise SourceError(f"{self.where} did not answer like an NTRIP caster: {_snippet(first)!r}")
        head = decode_line(data[:head_end]).replace("\r\n", "\n").split("\n")
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        body = data[head_end:]
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = _dechunk(body)
        return _Answer(head[0].strip(), headers, body)


def _head_end(data: bytes | bytearray) -> int | None:
    """Offset of the body: after the first blank line (CRLF or LF)."""
    ends = [i + n for i, n in ((data.find(b"\r\n\r\n"), 4), (data.find(b"\n\n"), 2)) if i >= 0]
    return min(ends) if ends else None


def check_answer(answer: _Answer, where: str) -> bytes:
    """The source table's bytes from a caster's answer; SourceError or Retryable otherwise."""
    status = answer.status_line
    parts = status.split(None, 2)
    if status.upper().startswith("SOURCETABLE 200"):
        return answer.body  # NTRIP v1
    if status.upper().startswith("ICY 200"):
        raise SourceError(f"{where} answered with a data stream (ICY 200 OK) instead of its source table")
    if len(parts) < 2 or not parts[0].upper().startswith("HTTP/") or not parts[1].isdigit():
        raise SourceError(f"{where} did not answer like an NTRIP caster: {status[:_SNIPPET]!r}")
    code = int(parts[1])
    if code in (401, 403):
        raise SourceError(
            f"{where} refused the credentials ({status[:_SNIPPET]}): check 'user' and the password in 'password_env'"
        )
    if code >= 500:
        raise Retryable(f"{where} answered {status[:_SNIPPET]}")
    if code != 200:
        raise SourceError(f"{where} answered {status[:_SNIPPET]} to the source table request")
    kind = answer.headers.get("content-type", "")
    if kind and not kind.lower().startswith(("gnss/sourcetable", "text/plain")) and _END not in answer.body:
        raise SourceError(f"{where} answered with {kind!r}, not a source table (gnss/sourcetable)")
    return answer.body


# --------------------------------------------------------------------------- adapter


@register
class NtripAdapter(Adapter):
    kind = "ntrip"
    Options = NtripOptions

    options: NtripOptions

    def __init__(self, name: str, options: NtripOptions) -> None:  # type: ignore[override]
        super().__init__(name, options)
        # Mount points seen in earlier tables of this process: missing later = down.
        self.seen: set[str] = set()

    def code(self, mountpoint: str) -> str:
        return self.options.codes.get(mountpoint) or self.options.code_template.format(mountpoint=mountpoint)

    def fetch(self, ctx: PollContext) -> bytes:
        """The raw source table, with retries inside the poll's time budget."""
        opts = self.options
        client = NtripClient(opts)
        return within_deadline(lambda timeout: self._ask(client, timeout), retries=opts.retries,
                               request_timeout=opts.request_timeout, backoff_seconds=opts.backoff_seconds,
                               deadline=poll_deadline(ctx), ctx=ctx, what=f"ask {client.where}")

    def _ask(self, client: NtripClient, timeout: float) -> bytes:
        version = self.options.version
        if version != "auto":
            return check_answer(client.exchange(version, timeout), client.where)
        # auto: a v2 request; a v1-only caster normally answers it in v1 form (accepted),
        # but one that rejects it (HTTP 400, garbage) gets a plain v1 request next.
        try:
            return check_answer(client.exchange("2", timeout), client.where)
        except SourceError as exc:
            if "refused the credentials" in str(exc) or "environment variable" in str(exc):
                raise
            first = exc
        try:
            return check_answer(client.exchange("1", timeout), client.where)
        except SourceError as exc:
            raise SourceError(f"{first} (v2); {exc} (v1)") from None

    def station(self, stream: Stream) -> Entity:
        opts = self.options
        province = None
        vietnam = stream.country.upper() in ("", "VNM", "VN", "VIETNAM", "VIET NAM")
        if stream.lat is not None and stream.lon is not None and vietnam:
            province = nearest_province(stream.lat, stream.lon)
        role = opts.station_types.get(stream.mountpoint, opts.default_station_type)
        return Entity(
            code=self.code(stream.mountpoint),
            kind="gnss_station",
            name=stream.identifier or stream.mountpoint,
            subtype=role,
            province_code=province,
            lat=stream.lat,
            lon=stream.lon,
            meta={
                "mountpoint": stream.mountpoint,
                "format": stream.format,
                "nav_system": stream.nav_system,
                "network": stream.network,
                "country": stream.country,
                "station_type": role,
            },
        )

    def silent_streams(self, table: SourceTable) -> set[str]:
        """Listed mount points whose stream sends nothing within ``probe_seconds`` (probed in parallel)."""
        opts = self.options
        mounts = [s.mountpoint for s in table.streams if not (opts.skip_network_streams and s.solution == "1")
                  and not (opts.networks and s.network not in opts.networks)]
        client = NtripClient(opts)
        version: Literal["1", "2"] = "1" if opts.version == "1" else "2"
        with ThreadPoolExecutor(max_workers=opts.probe_workers, thread_name_prefix=f"ntrip-{self.name}") as pool:
            flows = list(pool.map(lambda m: client.stream_flows(m, version, opts.probe_seconds), mounts))
        return {m for m, ok in zip(mounts, flows) if not ok}

    def to_batch(self, table: SourceTable, now: datetime, ref: str, silent: set[str] | None = None) -> Batch:
        """Entities and up/down readings of one source table at poll time ``now``; mount
        points in ``silent`` are listed but send nothing, so they count as down."""
        opts = self.options
        step = opts.stamp_seconds
        ts = datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
        batch = Batch()
        present: set[str] = set()
        for stream in table.streams:
            if opts.networks and stream.network not in opts.networks:
                continue
            if opts.skip_network_streams and stream.solution == "1":
                continue  # a network product (VRS, MAC), not a physical station
            present.add(stream.mountpoint)
            batch.entities.append(self.station(stream))
        # A listed but unreadable record: its stream exists, so don't report it down.
        unreadable = {mount for _, _, mount in table.rejected if mount}
        missing = (set(opts.expected_mountpoints) | self.seen) - present - unreadable
        silent = silent or set()
        for mount, up in ([(m, 0.0 if m in silent else 1.0) for m in sorted(present)]
                          + [(m, 0.0) for m in sorted(missing)]):
            code = self.code(mount)
            batch.readings.append(Reading(code, "up", ts, up))
            if opts.availability_metric:
                batch.readings.append(Reading(code, opts.availability_metric, ts, 100.0 * up, "%"))
        batch.rejected = [Rejected(reason=reason, payload=raw, ref=ref) for reason, raw, _ in table.rejected]
        # Remember only after the batch is stored, so a failed store does not skew later polls.
        batch.after_commit.append(lambda: self.seen.update(present))
        return batch

    def poll(self, ctx: PollContext) -> Batch:
        table = parse_source_table(self.fetch(ctx))
        silent = self.silent_streams(table) if self.options.probe_streams else set()
        return self.to_batch(table, ctx.now, f"ntrip://{self.options.host}:{self.options.port}/", silent)
