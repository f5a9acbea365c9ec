"""Dated limits from config/limits.yaml: which limit on which day, Kq × Kf, permits, bad files."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from limits import current_limits, load_limits, unit_factor
from settings import ROOT, ConfigError, load_settings

SHIPPED = ROOT / "config" / "limits.yaml"
WASTEWATER_META = {
    "facility": "HNI-FAC-01", "column": "B", "kq": 1.1, "kf": 0.9, "flow_m3_day": 8700,
    "permit": "123/GPMT-UBND", "regulation": "QCVN 40:2011/BTNMT", "interval_seconds": 300,
}


@pytest.fixture(scope="module")
def limits():  # noqa: ANN201
    return load_limits(SHIPPED)


def test_settings_name_the_shipped_file(tmp_path: Path) -> None:
    assert load_settings(var_dir=tmp_path).limits_file == SHIPPED


def test_pm25_daily_limit_changes_on_1_january_2026(limits) -> None:  # noqa: ANN001
    assert limits.ambient_for("PM2.5", "24h", date(2025, 12, 31)).value == 50
    assert limits.ambient_for("PM2.5", "24h", date(2026, 1, 1)).value == 45
    assert limits.ambient_for("PM2.5", "24h", date(2026, 1, 1)).regulation == "QCVN 05:2023/BTNMT"
    assert limits.ambient_for("PM2.5", "24h", date(2023, 9, 11)) is None  # before QCVN 05:2023 was in force
    assert limits.ambient_for("PM2.5", "1h", date(2026, 1, 1)) is None  # no hourly PM2.5 limit


@pytest.mark.parametrize(
    ("metric", "period", "value"),
    [("NO2", "1h", 200), ("NO2", "24h", 100), ("SO2", "1h", 350), ("SO2", "24h", 125), ("O3", "1h", 200),
     ("O3", "8h", 120), ("CO", "1h", 30000), ("CO", "8h", 10000), ("PM10", "24h", 100), ("TSP", "1h", 300)],
)
def test_qcvn_05_2023_table(limits, metric: str, period: str, value: float) -> None:  # noqa: ANN001
    assert limits.ambient_for(metric, period, date(2026, 6, 1)).value == value


def test_cmax_is_c_times_kq_times_kf(limits) -> None:  # noqa: ANN001
    cod = limits.discharge_limit("COD", WASTEWATER_META, date(2026, 1, 1))
    assert cod.high == pytest.approx(150 * 1.1 * 0.9) == pytest.approx(148.5)
    assert (cod.base, cod.kq, cod.kf, cod.basis, cod.unit) == (150, 1.1, 0.9, "regulation", "mg/L")
    assert limits.discharge_limit("NH4+", WASTEWATER_META, date(2026, 1, 1)).high == pytest.approx(9.9)
    column_a = {**WASTEWATER_META, "column": "A"}
    assert limits.discharge_limit("BOD5", column_a, date(2026, 1, 1)).high == pytest.approx(30 * 1.1 * 0.9)


def test_no_factors_for_ph_temperature_colour_coliform(limits) -> None:  # noqa: ANN001
    ph = limits.discharge_limit("pH", WASTEWATER_META, date(2026, 1, 1))
    assert (ph.low, ph.high) == (5.5, 9.0)
    assert (limits.discharge_limit("pH", {**WASTEWATER_META, "column": "A"}, date(2026, 1, 1)).low) == 6.0
    assert limits.discharge_limit("Temp", WASTEWATER_META, date(2026, 1, 1)).high == 40
    assert limits.discharge_limit("Colour", WASTEWATER_META, date(2026, 1, 1)).high == 150
    assert limits.discharge_limit("Coliform", WASTEWATER_META, date(2026, 1, 1)).high == 5000


def test_kf_follows_the_flow_when_not_given(limits) -> None:  # noqa: ANN001
    meta = {k: v for k, v in WASTEWATER_META.items() if k != "kf"}
    for flow, kf in ((40, 1.2), (50, 1.2), (400, 1.1), (5000, 1.0), (8700, 0.9)):
        assert limits.discharge_limit("COD", {**meta, "flow_m3_day": flow}, date(2026, 1, 1)).kf == kf
    no_factors = {"column": "B", "regulation": "QCVN 40:2011/BTNMT"}
    assert limits.discharge_limit("COD", no_factors, date(2026, 1, 1)).high == 150  # Kq, Kf unknown: 1.0


def test_permit_limits_win(limits) -> None:  # noqa: ANN001
    meta = {**WASTEWATER_META, "limits": {"COD": 120.0, "pH_min": 6.5, "pH_max": 8.5}}
    cod = limits.discharge_limit("COD", meta, date(2026, 1, 1))
    assert (cod.high, cod.basis) == (120.0, "permit")  # used as written: no Kq × Kf on top
    assert "123/GPMT-UBND" in cod.regulation
    ph = limits.discharge_limit("pH", meta, date(2026, 1, 1))
    assert (ph.low, ph.high, ph.basis) == (6.5, 8.5, "permit")
    # A parameter the permit does not name falls back to the national table.
    assert limits.discharge_limit("BOD5", meta, date(2026, 1, 1)).high == pytest.approx(49.5)


def test_wastewater_table_is_dated_and_chosen_by_regulation(limits) -> None:  # noqa: ANN001
    assert limits.discharge_limit("COD", WASTEWATER_META, date(2032, 1, 1)) is None  # transition over
    assert limits.discharge_limit("COD", {**WASTEWATER_META, "regulation": "QCVN 40:2025/BTNMT"}, date(2026, 1, 1)) is None
    assert limits.discharge_limit("COD", {**WASTEWATER_META, "column": None}, date(2026, 1, 1)) is None


def test_units_convert_only_where_known() -> None:
    assert unit_factor("mg/m³", "µg/m³") == 1000
    assert unit_factor("ug/m3", "µg/m³") == 1
    assert unit_factor("µg/Nm³", "µg/m³") == 1
    assert unit_factor("", "mg/L") == 1
    assert unit_factor("ppm", "µg/m³") is None


def bad_file(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The shipped file with ``old`` replaced by ``new``, and the line ``new`` starts on."""
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text, old
    text = text.replace(old, new, 1)
    path = tmp_path / "limits.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text[: text.index(new)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("PM10: {24h: 100, year: 50}", "PM10: {24h: 100, 2h: 50}", "averaging period must be one of 1h, 8h, 24h, year"),
        ("PM10: {24h: 100, year: 50}", "PM10: {24h: -100, year: 50}", "write a positive number"),
        ("valid_from: 2023-09-12", "valid_from: 12/09/2023", "write dates as YYYY-MM-DD"),
        ("COD: {unit: mg/L, factors: true,", "COD: {unit: mg/L,", "'factors' is missing"),
        ('pH: {unit: "", factors: false,', 'pH: {unit: "", factors: true,', "write factors: false"),
        ("- {kf: 0.9}", "- {kf: 0.9, upto: 1}", "remove it or check its spelling"),
        ("{value: 45, valid_from: 2026-01-01}", "{value: 45, valid_from: 2025-12-01}", "overlaps the value at line"),
        ("{value: 45, valid_from: 2026-01-01}", "{value: 45, valid_from: 2026-01-01, valid_to: 2025-01-01}",
         "is before valid_from"),
        ("{A: 4, B: 6}", "{A: 4, B: [6}", "not valid YAML"),
    ],
)
def test_broken_limits_file_names_file_line_and_fix(tmp_path: Path, old: str, new: str, message: str) -> None:
    path, line = bad_file(tmp_path, old, new)
    with pytest.raises(ConfigError) as err:
        load_limits(path)
    assert f"{path}:{line}:" in str(err.value)
    assert message in str(err.value)


def test_missing_file_says_which_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LIMITS_FILE"):
        current_limits(tmp_path / "nope.yaml")


def test_kf_steps_must_increase(tmp_path: Path) -> None:
    path, _ = bad_file(tmp_path, "{up_to: 500, kf: 1.1}", "{up_to: 20, kf: 1.1}")
    lines = path.read_text(encoding="utf-8").split("\n")
    line = next(i for i, text in enumerate(lines, start=1) if text.strip().startswith("kf_by_flow:"))
    with pytest.raises(ConfigError, match=rf"limits.yaml:{line}: kf_by_flow: give increasing up_to bounds"):
        load_limits(path)
