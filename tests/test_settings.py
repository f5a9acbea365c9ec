from __future__ import annotations

from pathlib import Path

import pytest

from settings import ConfigError, load_settings


def test_defaults_are_the_embedded_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "PORT", "OPSCENTRE_CONFIG", "TIMEZONE", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(var_dir=tmp_path / "var")
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'var' / 'opscentre.db'}"
    assert settings.redis_url is None
    assert settings.port == 8050
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.language == "vi"
    assert (tmp_path / "var").is_dir()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PORT", "eighty", "PORT"),
        ("PORT", "70000", "PORT"),
        ("TIMEZONE", "Mars/Olympus", "Asia/Ho_Chi_Minh"),
        ("DATABASE_URL", "mysql://x/y", "postgresql://"),
        ("REDIS_URL", "localhost:6379", "redis://host:port/db"),
        ("LANGUAGE", "fr", "LANGUAGE"),
    ],
)
def test_a_bad_value_names_the_setting_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings(var_dir=tmp_path)
    assert name in str(err.value)
    assert expected in str(err.value)


def test_config_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "opscentre.yaml"
    config.write_text("port: 9000\norganisation_name: Sở Nông nghiệp và Môi trường Hà Nội\n", encoding="utf-8")
    monkeypatch.setenv("OPSCENTRE_CONFIG", str(config))
    monkeypatch.delenv("PORT", raising=False)
    assert load_settings(var_dir=tmp_path).port == 9000
    assert load_settings(var_dir=tmp_path).organisation_name == "Sở Nông nghiệp và Môi trường Hà Nội"
    monkeypatch.setenv("PORT", "9100")
    assert load_settings(var_dir=tmp_path).port == 9100


def test_unknown_key_in_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "opscentre.yaml"
    config.write_text("prot: 9000\n", encoding="utf-8")
    monkeypatch.setenv("OPSCENTRE_CONFIG", str(config))
    with pytest.raises(ConfigError, match="PROT"):
        load_settings(var_dir=tmp_path)


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSCENTRE_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_settings(var_dir=tmp_path)
