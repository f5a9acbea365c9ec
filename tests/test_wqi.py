"""VN_WQI (Decision 1460/QĐ-TCMT): every branch of the sub-indices, group rules, aggregation by hand."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.wqi import (
    BANDS,
    BREAKPOINTS,
    DEFAULT_LABELS,
    band,
    do_percent,
    do_saturation,
    normalise_parameter,
    q_do_percent,
    q_parameter,
    q_pesticide,
    q_ph,
    wqi,
)

# --------------------------------------------------------------------------- DO saturation

def test_do_saturation_polynomial() -> None:
    assert do_saturation(0) == pytest.approx(14.652)
    # 14.652 − 0.41022·25 + 0.0079910·625 − 0.000077774·15625 = 14.652 − 10.2555 + 4.994375 − 1.21521875
    assert do_saturation(25) == pytest.approx(8.17565625, abs=1e-12)
    assert do_percent(7.0, 25) == pytest.approx(7 / 8.17565625 * 100)  # 85.62 %


# --------------------------------------------------------------------------- groups III–V (falling)

@pytest.mark.parametrize("param, value, q", [
    ("bod5", 4, 100), ("bod5", 6, 75), ("bod5", 15, 50), ("bod5", 25, 25), ("bod5", 50, 10),
    ("cod", 10, 100), ("cod", 150, 10), ("toc", 15, 50), ("p_po4", 0.5, 25), ("p_po4", 4, 10),
    ("n_nh4", 0.3, 75), ("n_nh4", 0.6, 50), ("n_nh4", 0.9, 25), ("n_nh4", 5, 10),
    ("n_no3", 2, 100), ("n_no3", 15, 25), ("n_no2", 0.05, 100), ("coliform", 10000, 25), ("e_coli", 200, 25),
    ("as", 0.01, 100), ("as", 0.1, 25), ("cd", 0.005, 75), ("cd", 0.1, 10), ("pb", 0.02, 75), ("hg", 0.001, 75),
    ("cr6", 0.05, 25), ("cu", 2, 10), ("zn", 1.5, 50),
])
def test_value_on_a_breakpoint_takes_its_q(param: str, value: float, q: float) -> None:
    assert q_parameter(param, value) == q


@pytest.mark.parametrize("param, value, q", [
    # "<X → 100" then "X → 75": a step, not a slope
    ("n_nh4", 0.299, 100), ("cd", 0.0049, 100), ("pb", 0.019, 100), ("hg", 0.00099, 100),
    # ">X → 10" right after the q = 25 (or 100) breakpoint: a step down
    ("n_no3", 15.01, 10), ("n_no2", 0.051, 10), ("coliform", 10001, 10), ("e_coli", 201, 10), ("as", 0.1001, 10),
    # "≥X → 10": beyond the last breakpoint stays 10; "≤X → 100": below the first stays 100
    ("bod5", 60, 10), ("cod", 1000, 10), ("n_nh4", 50, 10), ("bod5", 0, 100), ("coliform", 0, 100),
])
def test_steps_and_ends_of_the_tables(param: str, value: float, q: float) -> None:
    assert q_parameter(param, value) == q


@pytest.mark.parametrize("param, value, q", [
    ("bod5", 5, 87.5),  # (100 − 75)/(6 − 4) × (6 − 5) + 75
    ("cod", 20, 50 + 25 / 15 * 10),  # (75 − 50)/(30 − 15) × (30 − 20) + 50 = 66.67
    ("coliform", 4000, 85),  # (100 − 75)/(5000 − 2500) × (5000 − 4000) + 75
    ("zn", 2.5, 17.5),  # (25 − 10)/(3 − 2) × (3 − 2.5) + 10
    ("n_nh4", 2.95, 17.5),  # (25 − 10)/(5 − 0.9) × (5 − 2.95) + 10 = 15/4.1 × 2.05 + 10
    ("as", 0.015, 87.5),  # (100 − 75)/(0.02 − 0.01) × (0.02 − 0.015) + 75
])
def test_interpolation_where_quality_falls(param: str, value: float, q: float) -> None:
    assert q_parameter(param, value) == pytest.approx(q)


# --------------------------------------------------------------------------- DO% and pH (rising and falling)

@pytest.mark.parametrize("pct, q", [
    (19.9, 10), (20, 25), (50, 50), (75, 75), (88, 100), (100, 100), (112, 100), (125, 75), (150, 50), (200, 25),
    (200.1, 10), (0, 10),
    (35, 37.5),  # rising: (50 − 25)/(50 − 20) × (35 − 20) + 25
    (81.5, 87.5),  # rising: (100 − 75)/(88 − 75) × (81.5 − 75) + 75
    (118.5, 87.5),  # falling: (100 − 75)/(125 − 112) × (125 − 118.5) + 75
    (175, 37.5),  # falling: (50 − 25)/(200 − 150) × (200 − 175) + 25
])
def test_do_percent_bands(pct: float, q: float) -> None:
    assert q_do_percent(pct) == pytest.approx(q)


def test_do_from_mg_l_needs_temperature() -> None:
    # 7 mg/L at 25 °C = 85.62 % → rising branch 75..88: 25/13 × (85.62 − 75) + 75 = 95.42
    assert q_parameter("DO", 7.0, temperature=25) == pytest.approx(25 / 13 * (7 / 8.17565625 * 100 - 75) + 75)
    assert q_parameter("do", 7.0) is None


@pytest.mark.parametrize("ph, q", [
    (5.4, 10), (5.5, 50), (5.75, 75), (6, 100), (7, 100), (8.5, 100), (8.75, 75), (9, 50), (9.1, 10),
])
def test_ph_bands(ph: float, q: float) -> None:
    # 5.75: rising (100 − 50)/(6 − 5.5) × 0.25 + 50; 8.75: falling (100 − 50)/(9 − 8.5) × 0.25 + 50
    assert q_ph(ph) == pytest.approx(q)


def test_pesticides_within_or_over_the_limit() -> None:
    assert q_pesticide("Aldrin", 0.1) == 100 and q_pesticide("aldrin", 0.11) == 10
    assert q_pesticide("BHC", 0.02) == 100 and q_pesticide("bhc", 0.021) == 10
    assert q_pesticide("DDTs", 1.0) == 100 and q_pesticide("ddts", 1.01) == 10
    assert q_pesticide("Heptachlor & Heptachlor epoxide", 0.2) == 100 and q_pesticide("heptachlor", 0.21) == 10
    assert q_pesticide("dieldrin", 0.0) == 100 and q_pesticide("dieldrin", None) is None


def test_parameter_names_are_normalised() -> None:
    assert [normalise_parameter(n) for n in ("N-NH4", "Cr6+", "E. coli", "DO%", "P-PO4", "BOD5", "pH", "Temperature")] \
        == ["n_nh4", "cr6", "e_coli", "do_pct", "p_po4", "bod5", "ph", "temperature"]
    assert normalise_parameter("turbidity") is None
    with pytest.raises(KeyError):
        q_parameter("turbidity", 3.0)


# --------------------------------------------------------------------------- aggregation

FULL = {"pH": 7.0, "Aldrin": 0.05, "DDTs": 1.5, "As": 0.015, "Cu": 0.1, "DO": 7.0, "BOD5": 5, "COD": 20,
        "N-NH4": 0.2, "P-PO4": 0.25, "Coliform": 4000, "temperature": 25}


def test_full_aggregation_by_hand() -> None:
    # I:   pH 7 → 100                                             → factor 1.0
    # II:  Aldrin 0.05 ≤ 0.1 → 100; DDTs 1.5 > 1.0 → 10; geomean √(100·10) = 31.6228 → 0.316228
    # III: As 0.015 → 87.5 (between 0.01 and 0.02); Cu 0.1 → 100; geomean √8750 = 93.5414 → 0.935414
    # IV:  DO 7 mg/L at 25 °C: DOsat 8.175656, DO% 85.620 → 95.4232; BOD5 5 → 87.5; COD 20 → 66.6667;
    #      N-NH4 0.2 → 100; P-PO4 0.25 → (75 − 50)/0.1 × 0.05 + 50 = 62.5
    #      mean = (95.4232 + 87.5 + 66.6667 + 100 + 62.5)/5 = 412.0899/5 = 82.4180
    # V:   Coliform 4000 → 85; mean 85
    # WQI = 1 × 0.316228 × 0.935414 × √(82.4180 × 85) = 0.295804 × 83.6990 = 24.7585 → 25 (band 10–25, red)
    result = wqi(FULL)
    assert result.groups["II"] == pytest.approx(31.6228, abs=1e-4)
    assert result.groups["III"] == pytest.approx(93.5414, abs=1e-4)
    assert result.groups["IV"] == pytest.approx(82.4180, abs=1e-4)
    assert result.groups["V"] == 85
    assert result.value == pytest.approx(24.7585, abs=1e-4)
    assert (result.wqi, result.band, result.colour, result.formula) == (25, "wqi_10_25", "#FF0000", "with_v")
    assert result.label("vi") == "Kém" and result.label("en") == "Poor"


def test_without_group_v_and_organic_weighting() -> None:
    # Without V: 0.295804 × 82.4180 = 24.3795 → 24
    no_v = wqi({k: v for k, v in FULL.items() if k != "Coliform"})
    assert no_v.formula == "without_v" and no_v.value == pytest.approx(24.3795, abs=1e-4) and no_v.wqi == 24
    # Organic (IV = 2, V = 1): (82.4180² × 85)^(1/3) = (6792.721 × 85)^(1/3) = 577381.3^(1/3) = 83.2698;
    # × 0.295804 = 24.6315 → 25
    organic = wqi(FULL, organic=True)
    assert organic.formula == "organic" and organic.value == pytest.approx(24.6315, abs=1e-4) and organic.wqi == 25
    # organic without V falls back to mean(IV)
    assert wqi({k: v for k, v in FULL.items() if k != "Coliform"}, organic=True).value == pytest.approx(no_v.value)


def test_clean_water_reaches_the_top_band() -> None:
    # I: 100. IV: DO% 100 → 100, BOD5 4 → 100, COD 10 → 100, N-NH4 0.3 → 75 (on the breakpoint): mean 93.75.
    # V: Coliform 2500 → 100, E. coli 50 → 75: mean 87.5. √(93.75 × 87.5) = √8203.125 = 90.571 → 91.
    result = wqi({"pH": 7.2, "DO%": 100, "BOD5": 4, "COD": 10, "N-NH4": 0.3, "Coliform": 2500, "E. coli": 50})
    assert result.value == pytest.approx(90.5711, abs=1e-4)
    assert (result.wqi, result.band, result.colour) == (91, "wqi_91_100", "#3333FF")


def test_unmeasured_groups_i_ii_iii_count_as_factor_one() -> None:
    base = {"DO%": 100, "BOD5": 6, "COD": 15, "TOC": 6, "Coliform": 5000}  # IV mean 81.25, V 75
    with_ph = wqi({**base, "pH": 5.75})  # groups I, IV, V: 0.75 × √(81.25 × 75) = 0.75 × 78.0625 = 58.547
    assert with_ph.value == pytest.approx(0.75 * math.sqrt(81.25 * 75))
    assert with_ph.wqi == 59
    clean_ii = wqi({**base, "pH": 5.75, "aldrin": 0.01, "bhc": 0.0})  # pesticides all within → factor 1 too
    assert clean_ii.value == pytest.approx(with_ph.value)
    assert "II" in clean_ii.groups and "III" not in clean_ii.groups


def test_group_rules_give_none_with_a_reason() -> None:
    no_iv = wqi({"pH": 7, "As": 0.01, "Coliform": 100})
    assert no_iv.wqi is None and no_iv.reason_code == "group_iv_missing" and "IV" in no_iv.reason
    two_iv = wqi({"pH": 7, "As": 0.01, "BOD5": 3, "COD": 5, "Coliform": 100})
    assert two_iv.wqi is None and two_iv.reason_code == "group_iv_too_few" and "has 2" in two_iv.reason
    two_groups = wqi({"BOD5": 3, "COD": 5, "TOC": 2, "Coliform": 100})
    assert two_groups.wqi is None and two_groups.reason_code == "too_few_groups"
    assert wqi({"pH": 7, "BOD5": 3, "COD": 5, "TOC": 2}).reason_code == "too_few_groups"  # I and IV only
    three = wqi({"pH": 7, "BOD5": 3, "COD": 5, "TOC": 2, "Coliform": 100})  # I, IV, V: all q = 100
    assert three.wqi == 100 and three.reason is None


def test_known_pesticide_or_metal_waters_need_their_group() -> None:
    sample = {"pH": 7, "BOD5": 3, "COD": 5, "TOC": 2, "Coliform": 100}
    assert wqi(sample, pesticide_water=True).reason_code == "group_ii_required"
    assert wqi(sample, metal_water=True).reason_code == "group_iii_required"
    assert wqi({**sample, "DDTs": 0.5}, pesticide_water=True).wqi == 100
    assert wqi({**sample, "Hg": 0.0005}, metal_water=True).wqi == 100


def test_do_without_temperature_is_not_counted() -> None:
    sample = {"pH": 7, "DO": 7.0, "BOD5": 3, "COD": 5, "Coliform": 100}
    missing = wqi(sample)
    assert missing.wqi is None and missing.reason_code == "group_iv_too_few"
    assert "do (no temperature)" in missing.ignored
    assert wqi(sample, temperature=25).sub_indices["do"] == pytest.approx(95.4232, abs=1e-4)
    assert wqi({**sample, "temperature": 25}).wqi is not None
    # negative and unknown entries are reported, not used
    odd = wqi({**sample, "temperature": 25, "TOC": -1.0, "turbidity": 5})
    assert set(odd.ignored) == {"TOC", "turbidity"} and "toc" not in odd.sub_indices


# --------------------------------------------------------------------------- bands and labels

def test_bands_colours_and_configurable_labels() -> None:
    expected = [("wqi_91_100", (51, 51, 255)), ("wqi_76_90", (0, 228, 0)), ("wqi_51_75", (255, 255, 0)),
                ("wqi_26_50", (255, 126, 0)), ("wqi_10_25", (255, 0, 0)), ("wqi_0_9", (126, 0, 35))]
    assert [(b.key, b.rgb) for b in BANDS] == expected
    for b in BANDS:
        assert b.colour == "#{:02X}{:02X}{:02X}".format(*b.rgb)
    edges = {100: "wqi_91_100", 91: "wqi_91_100", 90: "wqi_76_90", 76: "wqi_76_90", 75: "wqi_51_75",
             51: "wqi_51_75", 50: "wqi_26_50", 26: "wqi_26_50", 25: "wqi_10_25", 10: "wqi_10_25", 9: "wqi_0_9",
             0: "wqi_0_9"}
    for value, key in edges.items():
        assert band(value).key == key
    assert DEFAULT_LABELS["wqi_26_50"]["vi"] == "Xấu" and DEFAULT_LABELS["wqi_10_25"]["vi"] == "Kém"
    # Another text swaps the two labels: change the labels, never the numbers or colours.
    swapped = {**DEFAULT_LABELS, "wqi_26_50": {"vi": "Kém", "en": "Poor"}, "wqi_10_25": {"vi": "Xấu", "en": "Bad"}}
    result = wqi(FULL)
    assert result.label("vi", swapped) == "Xấu" and result.label("vi") == "Kém"
    assert result.colour == "#FF0000"
    with pytest.raises(ValueError):
        band(-1)


# --------------------------------------------------------------------------- properties

FALLING = sorted(BREAKPOINTS)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(FALLING), st.floats(0, 20_000), st.floats(0, 20_000))
def test_q_never_rises_with_the_concentration(param: str, a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    scale = BREAKPOINTS[param][-1][0] / 1000  # spread draws across the table's range
    q_lo, q_hi = q_parameter(param, lo * scale), q_parameter(param, hi * scale)
    assert 10 <= q_hi <= q_lo <= 100


@settings(max_examples=80, deadline=None)
@given(st.fixed_dictionaries({
    "pH": st.floats(3, 11), "DO%": st.floats(0, 250), "BOD5": st.floats(0, 80), "COD": st.floats(0, 200),
    "N-NH4": st.floats(0, 8), "P-PO4": st.floats(0, 5), "Coliform": st.floats(0, 20_000),
}, optional={"As": st.floats(0, 0.3), "aldrin": st.floats(0, 0.3), "E. coli": st.floats(0, 400)}))
def test_wqi_stays_within_0_100(sample: dict[str, float]) -> None:
    result = wqi(sample)
    assert result.wqi is not None and 0 <= result.wqi <= 100
    assert band(result.wqi).key == result.band
    assert all(10 <= q <= 100 for q in result.sub_indices.values())


def test_do_is_ignored_where_the_saturation_formula_breaks_down() -> None:
    from indicators.wqi import do_percent

    assert do_percent(8.0, 80.0) is None  # DOsat's polynomial is negative up there
    result = wqi({"DO": 8.0, "BOD5": 3.0, "COD": 8.0, "N-NH4": 0.1, "pH": 7.0}, temperature=80.0)
    assert "do" not in result.sub_indices
    assert "do (temperature outside the DO saturation formula)" in result.ignored
    assert result.wqi == wqi({"BOD5": 3.0, "COD": 8.0, "N-NH4": 0.1, "pH": 7.0}).wqi
