"""The ``cap`` adapter and the warnings query, against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

import polling
from data_sources.cap import entity_code, plain_text
from queries.warnings import active_warnings, warnings_by_province
from settings import ConfigError
from source_config import SourceSpec
from store.schema import entities, observations, quarantine, series
from tests.support import register_sources, write_sources
from tests.test_http_json import FakeApi, Reply, _handler

VN = timezone(timedelta(hours=7))
SENDER = "canhbao@nchmf.gov.vn"
STORM, UPDATE, CANCEL, FLOOD = "VN-2025-0910-001", "VN-2025-0910-002", "VN-2025-0910-003", "VN-2025-0909-017"
STORM_CODE, UPDATE_CODE, FLOOD_CODE = (entity_code(SENDER, i) for i in (STORM, UPDATE, FLOOD))


def at(day: int, hour: int) -> datetime:
    return datetime(2025, 9, day, hour, 0, tzinfo=VN)


def epoch(day: int, hour: int) -> int:
    return int(at(day, hour).timestamp())


def cap(identifier: str | None, msg_type: str, sent: str, body: str = "", references: str = "",
        status: str = "Actual") -> bytes:
    ident = f"<identifier>{identifier}</identifier>" if identifier else ""
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  {ident}<sender>{SENDER}</sender><sent>{sent}</sent><status>{status}</status>
  <msgType>{msg_type}</msgType><scope>Public</scope>{refs}
  {body}
</alert>""".encode()


def info(lang: str, headline: str, severity: str, expires: str, areas: str, description: str = "",
         event: str = "Bão") -> str:
    return f"""<info><language>{lang}</language><category>Met</category><event>{event}</event>
  <urgency>Immediate</urgency><severity>{severity}</severity><certainty>Observed</certainty>
  <onset>2025-09-10T10:00:00+07:00</onset><expires>{expires}</expires>
  <headline>{headline}</headline><description>{description}</description>
  <instruction>Tàu thuyền không ra khơi.</instruction><web>https://nchmf.gov.vn/bao-so-3</web>
  {areas}</info>"""


# Two provinces: Quảng Ninh by a geocode value mapped in the options, and the old
# province Thái Bình (now in Hưng Yên) by its areaDesc only, with a polygon.
AREAS = """<area><areaDesc>Tỉnh Quảng Ninh</areaDesc><geocode><valueName>province</valueName><value>22</value></geocode></area>
  <area><areaDesc>Tỉnh Thái Bình</areaDesc>
    <polygon>20.4,106.3 20.6,106.3 20.6,106.6 20.4,106.6 20.4,106.3</polygon></area>"""

STORM_HEADLINE = "Tin bão số 3: Bão số 3 (Yagi) trên vùng biển Quảng Ninh – Thái Bình"
STORM_DOC = cap(STORM, "Alert", "2025-09-10T08:00:00+07:00", "\n".join([
    info("en-US", "Typhoon No. 3 (Yagi)", "Severe", "2025-09-11T20:00:00+07:00", AREAS),
    # Escaped HTML in the description, as some feeds send it: it must be stored as text.
    info("vi-VN", STORM_HEADLINE, "Severe", "2025-09-11T20:00:00+07:00", AREAS,
         description="&lt;p&gt;&lt;b&gt;Bão số 3&lt;/b&gt; cách Quảng Ninh 200 km.&lt;/p&gt;"),
]))
# The update's headline is sent decomposed (NFD), as some Windows tools write it.
UPDATE_HEADLINE = "Bão số 3 mạnh lên cấp 16, siêu bão"
UPDATE_DOC = cap(
    UPDATE, "Update", "2025-09-10T14:00:00+07:00",
    info("vi-VN", unicodedata.normalize("NFD", UPDATE_HEADLINE), "Extreme", "2025-09-12T08:00:00+07:00", AREAS),
    references=f"{SENDER},{STORM},2025-09-10T08:00:00+07:00",
)
FLOOD_DOC = cap(FLOOD, "Alert", "2025-09-09T10:00:00+07:00", info(
    "vi-VN", "Cảnh báo lũ quét, sạt lở đất tại Lào Cai", "Moderate", "2025-09-12T10:00:00+07:00",
    "<area><areaDesc>Yên Bái</areaDesc></area>", event="Lũ quét"))
CANCEL_DOC = cap(CANCEL, "Cancel", "2025-09-10T09:00:00+07:00",
                 references=f"{SENDER},{FLOOD},2025-09-09T10:00:00+07:00")
EXERCISE_DOC = cap("VN-DIENTAP-1", "Alert", "2025-09-10T09:30:00+07:00", info(
    "vi-VN", "Diễn tập", "Extreme", "2025-09-12T10:00:00+07:00", "<area><areaDesc>Huế</areaDesc></area>"),
    status="Exercise")
MALFORMED_DOC = b'<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>VN-X'
NO_IDENTIFIER_DOC = cap(None, "Alert", "2025-09-10T11:00:00+07:00",
                        info("vi-VN", "Mưa lớn", "Minor", "2025-09-11T10:00:00+07:00", AREAS))


def atom(*hrefs: str) -> bytes:
    entries = "".join(
        f'<entry><id>{h}</id><title>x</title><link rel="alternate" type="application/cap+xml" href="{h}"/></entry>'
        for h in hrefs
    )
    return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>NCHMF</title>{entries}</feed>'.encode()


def rss(*hrefs: str) -> bytes:
    items = "".join(f"<item><title>x</title><link>{h}</link></item>" for h in hrefs)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>NCHMF</title>{items}</channel></rss>'.encode()


# ------------------------------------------------------------------------ fixtures


@pytest.fixture
def feed() -> Iterator[FakeApi]:
    fake = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    for path, doc in {"/a/storm.xml": STORM_DOC, "/a/update.xml": UPDATE_DOC, "/a/flood.xml": FLOOD_DOC,
                      "/a/cancel.xml": CANCEL_DOC, "/a/exercise.xml": EXERCISE_DOC,
                      "/a/broken.xml": MALFORMED_DOC, "/a/noid.xml": NO_IDENTIFIER_DOC}.items():
        fake.set(path, Reply(200, doc))
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def entry(url: str, **overrides: Any) -> dict[str, Any]:
    options = {"url": url, "request_timeout": 2, "retries": 0, "geocode_to_province": {"22": "QNH"}, **overrides}
    return {"name": "nchmf", "kind": "cap", "every": "5m", "timeout": 10, "options": options}


def readings(engine: Engine) -> set[tuple[str, str, int, float]]:
    query = (
        select(entities.c.code, series.c.metric, observations.c.ts, observations.c.value)
        .join(series, series.c.id == observations.c.series_id)
        .join(entities, entities.c.id == series.c.entity_id)
    )
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(query)}


def snapshot(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return (
            sorted((r.code, r.name, r.province_code, repr(sorted(r.meta.items()))) for r in conn.execute(select(entities))),
            sorted(readings(engine)),
            conn.execute(select(func.count()).select_from(quarantine)).scalar_one(),
        )


def quarantined(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(quarantine).order_by(quarantine.c.id)))


def two_polls(engine: Engine, tmp_path: Path, feed: FakeApi) -> SourceSpec:
    """Poll 1 (RSS): the flood and the storm alerts. Poll 2 (Atom): the storm, its update, the
    cancel of the flood, an exercise, a malformed document and one without identifier."""
    spec = register_sources(tmp_path, engine, entry(f"{feed.base}/index.xml"))["nchmf"]
    feed.set("/index.xml", Reply(200, rss("a/flood.xml", "a/storm.xml")))
    first = polling.poll_source(engine, spec, now=at(10, 8) + timedelta(minutes=30))
    assert first.ok, first.error
    feed.set("/index.xml", Reply(200, atom("a/update.xml", "a/cancel.xml", "a/storm.xml", "a/exercise.xml",
                                           "a/broken.xml", "a/noid.xml")))
    second = polling.poll_source(engine, spec, now=at(10, 16))
    assert second.ok, second.error
    return spec


# --------------------------------------------------------------------------- tests


def test_alert_update_cancel_are_stored_as_entities_and_readings(any_engine: Engine, tmp_path: Path,
                                                                 feed: FakeApi) -> None:
    engine = any_engine
    two_polls(engine, tmp_path, feed)

    assert readings(engine) == {
        (FLOOD_CODE, "active", epoch(9, 10), 1.0), (FLOOD_CODE, "level", epoch(9, 10), 2.0),
        (FLOOD_CODE, "active", epoch(10, 9), 0.0),  # cancelled
        (STORM_CODE, "active", epoch(10, 8), 1.0), (STORM_CODE, "level", epoch(10, 8), 3.0),
        (STORM_CODE, "active", epoch(10, 14), 0.0),  # superseded by the update
        (UPDATE_CODE, "active", epoch(10, 14), 1.0), (UPDATE_CODE, "level", epoch(10, 14), 4.0),
    }
    with engine.connect() as conn:
        rows = {r.code: r for r in conn.execute(select(entities).where(entities.c.kind == "cap_warning"))}
    assert set(rows) == {FLOOD_CODE, STORM_CODE, UPDATE_CODE}  # no exercise, no cancel entity
    storm = rows[STORM_CODE]
    assert storm.name == STORM_HEADLINE  # the vi-VN block, not the en-US one listed first
    assert storm.name_en == "Typhoon No. 3 (Yagi)"
    assert storm.province_code == "QNH"
    assert storm.meta["areas"] == [
        {"areaDesc": "Tỉnh Quảng Ninh", "province_code": "QNH",
         "geocodes": [{"valueName": "province", "value": "22"}], "has_polygon": False},
        {"areaDesc": "Tỉnh Thái Bình", "province_code": "HYN", "geocodes": [], "has_polygon": True},
    ]
    assert storm.meta["description"] == "Bão số 3 cách Quảng Ninh 200 km."  # text, never markup
    assert (storm.meta["severity"], storm.meta["msgType"], storm.meta["event"]) == ("Severe", "Alert", "Bão")
    assert storm.meta["expires"] == "2025-09-11T20:00:00+07:00"
    assert rows[UPDATE_CODE].name == UPDATE_HEADLINE  # NFC, equal to what a user types
    assert rows[UPDATE_CODE].meta["references"] == [f"{SENDER},{STORM},2025-09-10T08:00:00+07:00"]
    assert rows[FLOOD_CODE].province_code == "LCI"  # old province Yên Bái, now Lào Cai

    warnings = active_warnings(engine, at(10, 16))
    assert [w.code for w in warnings] == [UPDATE_CODE]
    (storm_now,) = warnings
    assert (storm_now.level, storm_now.level_name, storm_now.event) == (4, "Extreme", "Bão")
    assert "Bão số 3" in storm_now.headline and storm_now.headline == UPDATE_HEADLINE
    assert storm_now.provinces == ("QNH", "HYN")
    assert storm_now.onset == at(10, 10) and storm_now.expires == at(12, 8)
    assert storm_now.instruction == "Tàu thuyền không ra khơi."
    by_province = warnings_by_province(engine, at(10, 16))
    assert {k: [w.code for w in v] for k, v in by_province.items()} == {"QNH": [UPDATE_CODE], "HYN": [UPDATE_CODE]}


def test_before_the_update_the_storm_and_flood_were_active(engine: Engine, tmp_path: Path, feed: FakeApi) -> None:
    two_polls(engine, tmp_path, feed)

    # The store keeps history: at 08:30 the storm (Severe) and the flood were in force.
    assert [(w.code, w.level) for w in active_warnings(engine, at(10, 8) + timedelta(minutes=30))] == [
        (STORM_CODE, 3), (FLOOD_CODE, 2)]


def test_bad_documents_are_quarantined_with_reasons(engine: Engine, tmp_path: Path, feed: FakeApi) -> None:
    two_polls(engine, tmp_path, feed)

    rows = quarantined(engine)
    assert [r.ref for r in rows] == [f"{feed.base}/a/broken.xml", f"{feed.base}/a/noid.xml"]
    assert rows[0].reason.startswith(f"{feed.base}/a/broken.xml: malformed XML: no element found"), rows[0].reason
    assert rows[1].reason == f"{feed.base}/a/noid.xml: required CAP field <identifier> missing or empty in <alert>"
    assert rows[0].payload == MALFORMED_DOC.decode()
    assert "Mưa lớn" in rows[1].payload  # the raw document, Vietnamese intact


def test_repolling_the_same_feed_changes_nothing(engine: Engine, tmp_path: Path, feed: FakeApi) -> None:
    spec = two_polls(engine, tmp_path, feed)
    before = snapshot(engine)

    again = polling.poll_source(engine, spec, now=at(10, 16) + timedelta(minutes=5))

    assert again.ok, again.error
    assert snapshot(engine) == before  # same entities, readings, and no second quarantine of the bad ones
    assert feed.count("/a/broken.xml") == 2  # it was really fetched again


def test_poll_after_expiry_marks_warnings_inactive(engine: Engine, tmp_path: Path, feed: FakeApi) -> None:
    spec = two_polls(engine, tmp_path, feed)
    before = readings(engine)
    after_expiry = at(12, 9)
    # The query already hides an expired warning before any poll has seen it expire...
    assert active_warnings(engine, after_expiry) == []

    outcome = polling.poll_source(engine, spec, now=after_expiry)

    assert outcome.ok, outcome.error
    # ... and the poll records the expiry itself, at the expiry time.
    assert readings(engine) - before == {
        (UPDATE_CODE, "active", epoch(12, 8), 0.0),
        (STORM_CODE, "active", int(datetime(2025, 9, 11, 20, tzinfo=VN).timestamp()), 0.0),
    }
    assert active_warnings(engine, after_expiry) == []
    assert [w.code for w in active_warnings(engine, at(11, 12))] == [UPDATE_CODE]


def test_url_may_be_a_single_cap_document(engine: Engine, tmp_path: Path, feed: FakeApi) -> None:
    spec = register_sources(tmp_path, engine, entry(f"{feed.base}/a/storm.xml"))["nchmf"]

    outcome = polling.poll_source(engine, spec, now=at(10, 9))

    assert outcome.ok, outcome.error
    assert [(w.code, w.level, w.provinces) for w in active_warnings(engine, at(10, 9))] == [
        (STORM_CODE, 3, ("QNH", "HYN"))]


def test_dead_link_is_quarantined_and_the_rest_stored(engine: Engine, tmp_path: Path, feed: FakeApi) -> None:
    spec = register_sources(tmp_path, engine, entry(f"{feed.base}/index.xml"))["nchmf"]
    feed.set("/index.xml", Reply(200, atom("a/gone.xml", "a/storm.xml")))

    outcome = polling.poll_source(engine, spec, now=at(10, 9))

    assert outcome.ok, outcome.error
    assert [w.code for w in active_warnings(engine, at(10, 9))] == [STORM_CODE]
    (row,) = quarantined(engine)
    assert row.reason.startswith("cannot fetch alert: HTTP 404") and row.ref == f"{feed.base}/a/gone.xml"


@pytest.mark.parametrize(
    ("body", "words"),
    [(b"<html><body>Bao tri</body>", "is not a CAP alert or feed: malformed XML"),
     (b"<?xml version='1.0'?><warnings/>", "neither an Atom/RSS index nor a CAP 1.2 alert")],
)
def test_index_that_is_not_a_feed_fails_the_poll(engine: Engine, tmp_path: Path, feed: FakeApi,
                                                 body: bytes, words: str) -> None:
    spec = register_sources(tmp_path, engine, entry(f"{feed.base}/index.xml"))["nchmf"]
    feed.set("/index.xml", Reply(200, body))

    outcome = polling.poll_source(engine, spec, now=at(10, 9))

    assert not outcome.ok
    assert words in outcome.error and f"{feed.base}/index.xml" in outcome.error


@pytest.mark.parametrize(
    ("overrides", "words"),
    [({"colour": "red"}, "options.colour"),
     ({"url": "ftp://host/cap"}, "http:// or https://"),
     ({"area_to_province": {"Vịnh Bắc Bộ": "XYZ"}}, "not a province code"),
     ({"max_alerts": 0}, "options.max_alerts")],
)
def test_bad_options_fail_at_load(tmp_path: Path, overrides: dict[str, Any], words: str) -> None:
    bad = entry("http://127.0.0.1:1/index.xml")
    bad["options"].update(overrides)
    with pytest.raises(ConfigError) as info_:
        write_sources(tmp_path, bad)
    assert words in str(info_.value)


def test_plain_text_and_entity_codes() -> None:
    assert plain_text("&lt;script&gt;x&lt;/script&gt;  Mưa\n\n <i>to</i>") == "x Mưa\nto"
    assert plain_text("Mưa &gt; 100 mm, gió &lt; 50 m/s <!-- ghi chú -->") == "Mưa > 100 mm, gió < 50 m/s"
    code = entity_code(SENDER, "urn:oid:2.49.0.1.704.0." + "9" * 200)
    assert len(code) <= 80 and code.startswith("CAP-") and code == entity_code(SENDER, "urn:oid:2.49.0.1.704.0." + "9" * 200)
    assert entity_code(SENDER, "a/b") != entity_code(SENDER, "a.b")  # same slug, different messages


def test_max_alerts_bounds_the_links_read(engine: Engine, tmp_path: Path, feed: FakeApi) -> None:
    spec = register_sources(tmp_path, engine, entry(f"{feed.base}/index.xml", max_alerts=1))["nchmf"]
    feed.set("/index.xml", Reply(200, atom("a/storm.xml", "a/flood.xml")))

    outcome = polling.poll_source(engine, spec, now=at(10, 9))

    assert outcome.ok, outcome.error
    assert (feed.count("/a/storm.xml"), feed.count("/a/flood.xml")) == (1, 0)
    assert [w.code for w in active_warnings(engine, at(10, 9))] == [STORM_CODE]


def test_an_entity_expansion_attack_is_refused_and_the_rest_stored(engine: Engine, tmp_path: Path,
                                                                   feed: FakeApi) -> None:
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY a "hahahahahahahahahaha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&d;</identifier></alert>"""
    feed.set("/a/laughs.xml", Reply(200, laughs))
    spec = register_sources(tmp_path, engine, entry(f"{feed.base}/index.xml"))["nchmf"]
    feed.set("/index.xml", Reply(200, atom("a/laughs.xml", "a/storm.xml")))

    outcome = polling.poll_source(engine, spec, now=at(10, 9))

    assert outcome.ok, outcome.error
    assert [w.code for w in active_warnings(engine, at(10, 9))] == [STORM_CODE]
    (row,) = quarantined(engine)
    assert "declares a DTD or entities" in row.reason and row.ref == f"{feed.base}/a/laughs.xml"
