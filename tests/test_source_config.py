from __future__ import annotations

from pathlib import Path

import pytest

from settings import ConfigError
from source_config import load_sources, parse_duration
from tests.support import scripted_specs


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_interval_and_cron_schedules(tmp_path: Path) -> None:
    a, b = scripted_specs(tmp_path, "name: a\nevery: 5m\ntimeout: 7", 'name: b\ncron: "*/15 * * * *"')
    assert (a.schedule, a.interval_seconds, a.timeout_seconds) == ("every 5m", 300, 7.0)
    assert (b.schedule, b.interval_seconds, b.timeout_seconds) == ("cron */15 * * * *", 900, 60.0)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1.5h", 5400), ("1d", 86400)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("  - name: x\n    kind: nosuch\n    every: 1m\n", "unknown source kind 'nosuch'"),
        ("  - name: x\n    kind: scripted\n    every: soon\n", "not a duration"),
        ("  - name: x\n    kind: scripted\n", "exactly one of"),
        ("  - name: x\n    kind: scripted\n    every: 1m\n    cron: '* * * * *'\n", "exactly one of"),
        ("  - name: x\n    kind: scripted\n    cron: 'every day'\n", "bad schedule"),
        ("  - name: X Y\n    kind: scripted\n    every: 1m\n", "lower-case"),
        ("  - name: x\n    kind: scripted\n    every: 1m\n    options: {colour: red}\n", "options.colour"),
        ("  - name: x\n    kind: scripted\n    every: 1m\n    retries: 3\n", "unknown key(s) retries"),
        ("  - name: x\n    kind: scripted\n    every: 1m\n    timeout: -1\n", "timeout must be positive"),
    ],
)
def test_bad_entry_names_file_line_and_fix(tmp_path: Path, entry: str, message: str) -> None:
    import tests.support  # noqa: F401 - registers the scripted kind

    good = "  - name: first\n    kind: scripted\n    every: 1m\n"
    path = write(tmp_path, "sources:\n" + good + entry)
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    assert f"{path}:5:" in str(err.value)  # the bad entry starts on line 5
    assert message in str(err.value)


def test_duplicate_names_point_at_both_lines(tmp_path: Path) -> None:
    import tests.support  # noqa: F401

    path = write(tmp_path, "sources:\n  - {name: a, kind: scripted, every: 1m}\n  - {name: a, kind: scripted, every: 2m}\n")
    with pytest.raises(ConfigError, match=r"sources.yaml:3: source name 'a' is already used at line 2"):
        load_sources(path)


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sources.yaml:3: not valid YAML"):
        load_sources(write(tmp_path, "sources:\n  - name: [a\n"))
    with pytest.raises(ConfigError, match="cannot read the sources file"):
        load_sources(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="top-level 'sources:' list"):
        load_sources(write(tmp_path, "- name: a\n"))
