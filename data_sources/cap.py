"""Source kind ``cap``: hydro-meteorological warnings in Common Alerting Protocol 1.2.

A sources-file entry::

    - name: nchmf-warnings
      kind: cap
      every: 5m
      timeout: 60                        # the whole poll, every request and retry included
      options:
        url: https://host/cap/feed.xml   # an Atom/RSS index of CAP alerts, or one CAP document
        headers: {X-Client: ioc}         # optional fixed headers
        request_timeout: 10              # seconds per HTTP request (default 10)
        retries: 2                       # extra attempts on network errors, timeouts, 5xx (default 2)
        backoff_seconds: 0.5             # wait before the first retry, doubled each time
        max_alerts: 50                   # read at most this many index entries (newest first)
        languages: [vi-VN, vi, en-US]    # which <info> block to show, in order of preference
        statuses: [Actual]               # other statuses (Test, Exercise, Draft...) are skipped
        geocode_names: [province, VN-PROVINCE]   # <geocode><valueName> that names a province
        geocode_to_province: {"22": QNH} # optional: geocode value -> province code
        area_to_province: {"Vịnh Bắc Bộ": QNH}  # optional: areaDesc -> province code

Each alert ``identifier`` (with its ``sender``) becomes an entity of kind
``cap_warning``: its name is the headline of the preferred language, its
``province_code`` the first area's province, and its ``meta`` holds the event,
severity, urgency, certainty, msgType, status, times, references, areas, description,
instruction and web link as plain text. It gets two series:

- ``active``: 1 at ``sent``; 0 at the ``sent`` time of an Update or Cancel that
  references it, and 0 at ``expires`` once a poll happens after that time;
- ``level``: the severity as a number, Extreme 4, Severe 3, Moderate 2, Minor 1,
  Unknown 0 (stamped at ``sent``).

A province is found from a geocode whose ``valueName`` is one of ``geocode_names``
(its value looked up in ``geocode_to_province``, else read as a province code or
name, old names included), else from ``areaDesc`` (``area_to_province``, else the
province names of :mod:`reference.provinces`, e.g. "Tỉnh Quảng Ninh", "Thái Bình").

A malformed document, one that is not CAP 1.2, one lacking a required field
(identifier, sender, sent, status, msgType; for Alert/Update an <info> with event,
urgency, severity and certainty) or an index link that cannot be fetched is
quarantined with the reason; the rest of the feed is still stored. The same problem
is quarantined once per process, not at every poll. An Update or Cancel referencing
an alert the store has never seen (it left the feed before this source first polled)
has its reading quarantined by ingest as an unknown entity code.

The whole poll fails when the index URL cannot be fetched or is not XML, or is
XML of another kind than Atom, RSS or CAP.
"""
from __future__ import annotations

import hashlib
import html
import re
import threading
import time
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, field_validator

from data_sources.base import Adapter, Batch, Entity, Options, PollContext, Reading, Rejected, SourceError
from data_sources.http_json import display_url
from data_sources.registry import register
from data_sources.retry import Retryable, poll_deadline, within_deadline
from data_sources.tabular import TimeZoneName
from reference.provinces import find_province, new_code_for_old, province_codes

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
KIND = "cap_warning"
# CAP severity -> the number stored in the ``level`` series (and compared by screens).
LEVELS = {"Extreme": 4, "Severe": 3, "Moderate": 2, "Minor": 1, "Unknown": 0}
_DEFAULT_MAX_BYTES = 5 * 1024 * 1024
_SNIPPET = 200
# Quarantine payloads are for an operator to read, not an archive of huge documents.
_MAX_PAYLOAD = 100_000
# Entity columns in store/schema.py: code String(80), name String(200), subtype String(30).
_CODE_LEN, _NAME_LEN, _SUBTYPE_LEN = 80, 200, 30


def _q(tag: str) -> str:
    return f"{{{CAP_NS}}}{tag}"


# -------------------------------------------------------------------------- options


class CapOptions(Options):
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    request_timeout: float = Field(default=10.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0)
    max_bytes: int = Field(default=_DEFAULT_MAX_BYTES, gt=0)
    max_alerts: int = Field(default=50, ge=1, le=1000)
    languages: list[str] = Field(default_factory=lambda: ["vi-VN", "vi"], min_length=1)
    statuses: list[str] = Field(default_factory=lambda: ["Actual"], min_length=1)
    geocode_names: list[str] = Field(default_factory=lambda: ["province", "VN-PROVINCE"])
    geocode_to_province: dict[str, str] = Field(default_factory=dict)
    area_to_province: dict[str, str] = Field(default_factory=dict)
    # CAP requires an offset on every time; this zone only rescues feeds that omit it.
    timezone: TimeZoneName = "Asia/Ho_Chi_Minh"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"url {value!r} must start with http:// or https://")
        try:
            httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"url {value!r} is not valid: {exc}") from None
        return value

    @field_validator("geocode_to_province", "area_to_province")
    @classmethod
    def _province_codes(cls, value: dict[str, str]) -> dict[str, str]:
        known = set(province_codes())
        for key, code in value.items():
            if code not in known:
                raise ValueError(f"{key!r} maps to {code!r}, not a province code ({', '.join(sorted(known))})")
        return value


# ----------------------------------------------------------------------------- text


# A tag starts with a letter, "/" or "!": "mưa > 100 mm" and "< 50 m/s" stay text.
_TAG = re.compile(r"<(?:/?[A-Za-z][^<>]{0,500}|!--.{0,500}?--)>", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(raw: str | None) -> str:
    """Element text as plain text: no markup, entities decoded, NFC (one form of each
    Vietnamese letter, so searches and comparisons work), blank runs collapsed.

    Some feeds put HTML (escaped) into <description>; the screens show text, never markup.
    """
    if not raw:
        return ""
    text = html.unescape(_TAG.sub(" ", html.unescape(raw)))
    text = _TAG.sub(" ", text)  # markup that was escaped twice
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text))
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line).strip()


def entity_code(sender: str, identifier: str) -> str:
    """A stable, URL-safe entity code for one CAP message (sender + identifier).

    The hash keeps two messages apart even when their readable parts slug the same or
    are cut to fit the 80-character column.
    """
    digest = hashlib.sha256(f"{sender},{identifier}".encode()).hexdigest()[:10]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", identifier).strip("-").upper()
    room = _CODE_LEN - len("CAP--") - len(digest)
    return f"CAP-{slug[-room:].lstrip('-')}-{digest}" if slug else f"CAP-{digest}"


def parse_cap_time(raw: str, tz: ZoneInfo) -> datetime:
    """A CAP dateTime ("2025-09-10T08:00:00+07:00") as an aware datetime."""
    parsed = datetime.fromisoformat(raw.strip())
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


# -------------------------------------------------------------------------- parsing


class CapError(ValueError):
    """One CAP document cannot be used; it is quarantined, the poll goes on."""


@dataclass(frozen=True)
class Message:
    """What one CAP document says, reduced to what the store keeps."""

    code: str
    msg_type: str
    sent: datetime
    expires: datetime | None
    level: int
    references: list[str]  # entity codes of the referenced messages
    entity: Entity | None  # None for Cancel (it only changes the referenced ones)


def parse_xml(data: bytes) -> ET.Element:
    """Parse XML refusing any DTD: CAP, Atom and RSS never need one, and refusing it
    closes the entity-expansion and external-entity tricks without defusedxml."""
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise CapError("document declares a DTD or entities, which CAP never uses; refused")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise CapError(f"malformed XML: {exc}") from None


def _child_text(node: ET.Element, tag: str) -> str:
    found = node.find(_q(tag))
    return plain_text(found.text) if found is not None else ""


def _required(node: ET.Element, tag: str, where: str = "<alert>") -> str:
    value = _child_text(node, tag)
    if not value:
        raise CapError(f"required CAP field <{tag}> missing or empty in {where}")
    return value


def _time(node: ET.Element, tag: str, tz: ZoneInfo, required: bool = False) -> datetime | None:
    raw = _required(node, tag) if required else _child_text(node, tag)
    if not raw:
        return None
    try:
        return parse_cap_time(raw, tz)
    except ValueError:
        raise CapError(f"<{tag}> {raw!r} is not a CAP dateTime (like 2025-09-10T08:00:00+07:00)") from None


def _pick_info(infos: list[ET.Element], languages: list[str]) -> ET.Element:
    """The <info> in the first preferred language ("vi" also matches "vi-VN"); else the first."""
    def lang(info: ET.Element) -> str:
        return (_child_text(info, "language") or "en-US").lower()  # CAP's default language

    for wanted in (w.lower() for w in languages):
        for info in infos:
            if lang(info) == wanted or lang(info).split("-")[0] == wanted:
                return info
    return infos[0]


def _english(infos: list[ET.Element], chosen: ET.Element) -> str | None:
    for info in infos:
        if info is not chosen and (_child_text(info, "language") or "en-US").lower().startswith("en"):
            return _child_text(info, "headline") or _child_text(info, "event") or None
    return None


def _reference_codes(raw: str) -> list[str]:
    """CAP <references>: space-separated "sender,identifier,sent" triples -> entity codes."""
    codes = []
    for triple in raw.split():
        parts = triple.split(",")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise CapError(f"<references> entry {triple!r} is not sender,identifier,sent")
        codes.append(entity_code(parts[0], parts[1]))
    return codes


class _Provinces:
    """Province of a CAP <area>, per the source's options."""

    def __init__(self, options: CapOptions) -> None:
        self.names = {n.lower() for n in options.geocode_names}
        self.geocodes = options.geocode_to_province
        self.areas = {plain_text(k): v for k, v in options.area_to_province.items()}

    def of(self, area_desc: str, geocodes: list[dict[str, str]]) -> str | None:
        for geo in geocodes:
            if geo["valueName"].lower() in self.names:
                value = geo["value"]
                code = self.geocodes.get(value) or new_code_for_old(value)
                if code:
                    return code
        if area_desc in self.areas:
            return self.areas[area_desc]
        code = new_code_for_old(area_desc)
        if code is None:
            found = find_province(area_desc)
            code = found.code if found else None
        return code


def _polygon_centre(text: str) -> tuple[float, float] | None:
    """Mean of a CAP polygon's vertices ("lat,lon lat,lon ..."), for a map marker."""
    points = []
    for pair in text.split():
        try:
            lat, lon = (float(x) for x in pair.split(",")[:2])
        except ValueError:
            return None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        points.append((lat, lon))
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()  # a closed ring repeats its first vertex
    if not points:
        return None
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def parse_alert(root: ET.Element, options: CapOptions, provinces: _Provinces, tz: ZoneInfo) -> Message | None:
    """One CAP 1.2 <alert> -> :class:`Message`; None for statuses the source skips."""
    if root.tag != _q("alert"):
        ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else "no namespace"
        raise CapError(f"root element is {root.tag.split('}')[-1]!r} in {ns}, not a CAP 1.2 <alert> ({CAP_NS})")
    identifier = _required(root, "identifier")
    sender = _required(root, "sender")
    sent = _time(root, "sent", tz, required=True)
    assert sent is not None
    status = _required(root, "status")
    msg_type = _required(root, "msgType")
    if msg_type not in ("Alert", "Update", "Cancel", "Ack", "Error"):
        raise CapError(f"<msgType> {msg_type!r} is not Alert, Update, Cancel, Ack or Error")
    if status not in options.statuses or msg_type in ("Ack", "Error"):
        return None  # a test, exercise or acknowledgement: not a warning to show
    references = _reference_codes(_child_text(root, "references"))
    code = entity_code(sender, identifier)
    if msg_type == "Cancel":
        if not references:
            raise CapError("Cancel message has no <references> to the alerts it cancels")
        return Message(code, msg_type, sent, None, 0, references, None)
    if msg_type == "Update" and not references:
        raise CapError("Update message has no <references> to the alerts it updates")

    infos = root.findall(_q("info"))
    if not infos:
        raise CapError(f"{msg_type} message has no <info> block")
    info = _pick_info(infos, options.languages)
    where = f"<info> ({_child_text(info, 'language') or 'en-US'})"
    event = _required(info, "event", where)
    fields = {tag: _required(info, tag, where) for tag in ("urgency", "severity", "certainty")}
    if fields["severity"] not in LEVELS:
        raise CapError(f"<severity> {fields['severity']!r} is not one of {', '.join(LEVELS)}")
    effective, onset, expires = (_time(info, tag, tz) for tag in ("effective", "onset", "expires"))

    areas = []
    centre: tuple[float, float] | None = None
    for area in info.findall(_q("area")):
        desc = _child_text(area, "areaDesc")
        geocodes = [
            {"valueName": _child_text(g, "valueName"), "value": _child_text(g, "value")}
            for g in area.findall(_q("geocode"))
        ]
        polygons = [p.text or "" for p in area.findall(_q("polygon"))]
        for polygon in polygons:
            centre = centre or _polygon_centre(polygon)
        areas.append({
            "areaDesc": desc,
            "province_code": provinces.of(desc, geocodes),
            "geocodes": geocodes,
            "has_polygon": bool(polygons),
        })
    province = next((a["province_code"] for a in areas if a["province_code"]), None)
    if centre is None and province:
        found = find_province(province)
        centre = (found.lat, found.lon) if found else None
    headline = _child_text(info, "headline") or event
    web = _child_text(info, "web")
    categories = [plain_text(c.text) for c in info.findall(_q("category")) if c.text]

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    meta: dict[str, Any] = {
        "identifier": identifier,
        "sender": sender,
        "event": event,
        "category": categories,
        "severity": fields["severity"],
        "urgency": fields["urgency"],
        "certainty": fields["certainty"],
        "msgType": msg_type,
        "status": status,
        "language": _child_text(info, "language") or "en-US",
        "sent": sent.isoformat(),
        "effective": iso(effective),
        "onset": iso(onset),
        "expires": iso(expires),
        "references": _child_text(root, "references").split(),
        "areas": areas,
        "description": _child_text(info, "description"),
        "instruction": _child_text(info, "instruction"),
        # Only a web link is kept as a link; anything else (javascript:...) is dropped.
        "web": web if web.startswith(("http://", "https://")) else None,
    }
    entity = Entity(
        code=code,
        kind=KIND,
        name=headline[:_NAME_LEN],
        name_en=(_english(infos, info) or "")[:_NAME_LEN] or None,
        subtype=(categories[0].lower()[:_SUBTYPE_LEN] if categories else None),
        province_code=province,
        lat=centre[0] if centre else None,
        lon=centre[1] if centre else None,
        meta=meta,
    )
    return Message(code, msg_type, sent, expires, LEVELS[fields["severity"]], references, entity)


def readings_for(messages: list[Message], now: datetime) -> list[Reading]:
    """The ``active`` and ``level`` readings the messages imply, as of ``now``.

    Zeros come after ones: ingest keeps the later of two readings with the same key,
    so an alert superseded in the very second it was sent ends up inactive.
    """
    ones: list[Reading] = []
    zeros: list[Reading] = []
    for m in messages:
        if m.entity is not None:
            ones.append(Reading(m.code, "active", m.sent, 1.0))
            ones.append(Reading(m.code, "level", m.sent, float(m.level)))
            if m.expires is not None and m.expires <= now:
                # Only once it has passed: ingest refuses readings from the future.
                zeros.append(Reading(m.code, "active", m.expires, 0.0))
        if m.msg_type in ("Update", "Cancel"):
            zeros.extend(Reading(ref, "active", m.sent, 0.0) for ref in m.references if ref != m.code)
    return ones + zeros


# --------------------------------------------------------------------------- fetching


def _snippet(data: bytes) -> str:
    text = " ".join(data[:_SNIPPET].decode("utf-8", errors="replace").split())
    return text + ("..." if len(data) > _SNIPPET else "")


def _index_links(root: ET.Element, base: str) -> list[str] | None:
    """Alert URLs of an Atom or RSS index, in feed order; None if ``root`` is neither."""
    if root.tag == f"{{{ATOM_NS}}}feed":
        links = []
        for entry in root.findall(f"{{{ATOM_NS}}}entry"):
            candidates = entry.findall(f"{{{ATOM_NS}}}link")
            # Prefer the link typed as CAP; else the entry's main (alternate) link.
            chosen = next((c for c in candidates if "cap" in (c.get("type") or "").lower()), None)
            chosen = chosen or next((c for c in candidates if c.get("rel", "alternate") == "alternate"), None)
            if chosen is not None and chosen.get("href"):
                links.append(urljoin(base, chosen.get("href", "").strip()))
        return links
    if root.tag == "rss":
        links = []
        for item in root.iter("item"):
            link = item.findtext("link") or ""
            enclosure = item.find("enclosure")
            href = link.strip() or (enclosure.get("url", "") if enclosure is not None else "").strip()
            if href:
                links.append(urljoin(base, href))
        return links
    return None


@register
class CapAdapter(Adapter):
    kind = "cap"
    Options = CapOptions

    options: CapOptions

    def __init__(self, name: str, options: Options) -> None:
        super().__init__(name, options)
        # Problems already quarantined by this process: a bad alert sitting in the feed
        # is reported once, not at every poll. Filled only after the batch is committed.
        self._reported: set[str] = set()
        self._lock = threading.Lock()

    def _get(self, client: httpx.Client, url: str, deadline: float, ctx: PollContext) -> bytes:
        """GET ``url`` with retries inside the poll's time budget; raise SourceError on failure."""
        opts = self.options
        shown = display_url(url)
        return within_deadline(lambda timeout: self._attempt(client, url, timeout, deadline, shown),
                               retries=opts.retries, request_timeout=opts.request_timeout,
                               backoff_seconds=opts.backoff_seconds, deadline=deadline, ctx=ctx,
                               what=f"request {shown}")

    def _attempt(self, client: httpx.Client, url: str, timeout: float, deadline: float, shown: str) -> bytes:
        limit = self.options.max_bytes
        try:
            with client.stream("GET", url, timeout=timeout) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > limit:
                        raise SourceError(f"response from {shown} is larger than max_bytes ({limit}); check the URL")
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("response still arriving at the poll deadline")
        except httpx.TimeoutException as exc:
            raise Retryable(f"request to {shown} timed out after {timeout:g} s ({exc or type(exc).__name__})") from None
        except httpx.UnsupportedProtocol as exc:
            raise SourceError(f"cannot request {shown}: {exc}") from None
        except httpx.TransportError as exc:
            raise Retryable(f"cannot connect to {shown}: {exc or type(exc).__name__}") from None
        status = response.status_code
        if status >= 500:
            raise Retryable(f"HTTP {status} {response.reason_phrase} from {shown}: {_snippet(bytes(body))}")
        if status >= 300:
            raise SourceError(f"HTTP {status} {response.reason_phrase} from {shown}: {_snippet(bytes(body))}")
        return bytes(body)

    def poll(self, ctx: PollContext) -> Batch:
        opts = self.options
        tz = ZoneInfo(opts.timezone)
        provinces = _Provinces(opts)
        deadline = poll_deadline(ctx)
        headers = {"Accept": "application/cap+xml, application/atom+xml, application/rss+xml, application/xml",
                   **opts.headers}
        messages: list[Message] = []
        rejected: list[Rejected] = []

        def take(url: str, data: bytes, root: ET.Element | None) -> None:
            try:
                message = parse_alert(root if root is not None else parse_xml(data), opts, provinces, tz)
            except CapError as exc:
                text = data.decode("utf-8", errors="replace")[:_MAX_PAYLOAD]
                rejected.append(Rejected(reason=f"{display_url(url)}: {exc}", payload=text, ref=display_url(url)))
                return
            if message is not None:
                messages.append(message)

        with httpx.Client(follow_redirects=True, headers=headers) as client:
            index = self._get(client, opts.url, deadline, ctx)
            try:
                root = parse_xml(index)
            except CapError as exc:
                raise SourceError(f"{display_url(opts.url)} is not a CAP alert or feed: {exc} "
                                  f"(body starts: {_snippet(index)!r})") from None
            links = _index_links(root, opts.url)
            if links is None:
                if root.tag != _q("alert"):
                    raise SourceError(f"{display_url(opts.url)} is neither an Atom/RSS index nor a CAP 1.2 alert "
                                      f"(root element {root.tag!r})")
                take(opts.url, index, root)
            # Feeds list the newest first: the cap keeps a poll bounded on a long archive.
            for link in (links or [])[: opts.max_alerts]:
                try:
                    data = self._get(client, link, deadline, ctx)
                except SourceError as exc:
                    # One dead link must not hide every other warning; the next poll tries again.
                    rejected.append(Rejected(reason=f"cannot fetch alert: {exc}", payload="", ref=display_url(link)))
                    continue
                take(link, data, None)

        # Several index entries may carry the same message; keep one.
        unique = list({(m.code, m.msg_type): m for m in messages}.values())
        entities = [m.entity for m in unique if m.entity is not None]
        fresh = self._once(rejected)
        return Batch(
            entities=entities,
            readings=readings_for(unique, ctx.now),
            rejected=fresh,
            # Remember only what is safely in the quarantine: after a rollback the next
            # poll must report it again.
            after_commit=[lambda: self._remember(fresh)],
        )

    @staticmethod
    def _key(r: Rejected) -> str:
        return hashlib.sha256(f"{r.ref}\n{r.reason}\n{r.payload}".encode()).hexdigest()

    def _once(self, rejected: list[Rejected]) -> list[Rejected]:
        """Drop problems this process already quarantined (see ``_reported``)."""
        with self._lock:
            return [r for r in rejected if self._key(r) not in self._reported]

    def _remember(self, rejected: list[Rejected]) -> None:
        with self._lock:
            self._reported.update(self._key(r) for r in rejected)


__all__ = ["CAP_NS", "KIND", "LEVELS", "CapAdapter", "CapOptions", "entity_code", "parse_alert", "plain_text"]
