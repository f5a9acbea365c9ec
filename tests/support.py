"""Test-only source kinds and helpers. A scripted source stands in for an outside system
whose behaviour the test controls (fail now, hang now, answer now)."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from data_sources.base import Adapter, Batch, Entity, Options, PollContext, Reading, SourceError
from data_sources.registry import register
from polling import sync_sources
from source_config import SourceSpec, load_sources


class ScriptedOptions(Options):
    entity: str = "TEST-1"
    metric: str = "value"


class Script:
    """Shared, thread-safe control of every scripted source in a test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.active: dict[str, int] = {}
        self.max_active: dict[str, int] = {}
        self.fail: dict[str, str] = {}
        self.sleep: dict[str, float] = {}

    def reset(self) -> None:
        self.__init__()


SCRIPT = Script()


@register
class ScriptedAdapter(Adapter):
    kind = "scripted"
    Options = ScriptedOptions

    def poll(self, ctx: PollContext) -> Batch:
        with SCRIPT.lock:
            n = SCRIPT.calls[self.name] = SCRIPT.calls.get(self.name, 0) + 1
            SCRIPT.active[self.name] = SCRIPT.active.get(self.name, 0) + 1
            SCRIPT.max_active[self.name] = max(SCRIPT.max_active.get(self.name, 0), SCRIPT.active[self.name])
        try:
            time.sleep(SCRIPT.sleep.get(self.name, 0))
            if self.name in SCRIPT.fail:
                raise SourceError(SCRIPT.fail[self.name])
            return Batch(
                entities=[Entity(self.options.entity, "station", f"Trạm {self.options.entity}")],
                readings=[Reading(self.options.entity, self.options.metric, ctx.now, float(n), "unit")],
            )
        finally:
            with SCRIPT.lock:
                SCRIPT.active[self.name] -= 1


def write_sources(tmp_path: Path, *entries: dict[str, Any]) -> dict[str, SourceSpec]:
    """Write a sources file like an operator would and load it: name → spec."""
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": list(entries)}, allow_unicode=True), encoding="utf-8")
    return {spec.name: spec for spec in load_sources(path)}


def register_sources(tmp_path: Path, engine: Engine, *entries: dict[str, Any]) -> dict[str, SourceSpec]:
    """:func:`write_sources`, then register them in the store as the scheduler would."""
    specs = write_sources(tmp_path, *entries)
    sync_sources(engine, list(specs.values()))
    return specs


def scripted_specs(tmp_path: Path, *entries: str) -> list[SourceSpec]:
    """Specs from YAML entries like ``"name: a\\n  every: 1s"`` (kind scripted added)."""
    body = "sources:\n" + "".join(f"  - kind: scripted\n    {e.strip().replace(chr(10), chr(10) + '    ')}\n" for e in entries)
    path = tmp_path / "sources.yaml"
    path.write_text(body, encoding="utf-8")
    return load_sources(path)


# The first admin's password of the apps tests start (conftest sets ADMIN_PASSWORD).
TEST_ADMIN_PASSWORD = "Kiem-thu-Mat-khau-2026"


def operator_headers(engine: Engine, scope: str = "operator") -> dict[str, str]:
    """Headers of an API client with a token of ``scope`` (created in the store)."""
    from auth.tokens import create_token

    _token, secret = create_token(engine, "api", f"tests-{scope}", scope=scope, actor="tests")
    return {"Authorization": f"Bearer {secret}"}
