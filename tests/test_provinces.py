"""The 34 provincial-level units of Resolution 202/2025/QH15 and the old→new mapping."""
from __future__ import annotations

import dataclasses
import unicodedata

import pytest

from reference.provinces import (
    ARCHIPELAGOS,
    GRID_COLS,
    GRID_ROWS,
    OLD_TO_NEW,
    all_provinces,
    find_province,
    new_code_for_old,
    province,
)

UNCHANGED = {"Hà Nội", "Huế", "Lai Châu", "Điện Biên", "Sơn La", "Lạng Sơn", "Quảng Ninh", "Thanh Hóa", "Nghệ An",
             "Hà Tĩnh", "Cao Bằng"}
CITIES = {"HNI", "HUE", "HPG", "DNG", "HCM", "CTO"}


def test_34_units_6_cities_28_provinces() -> None:
    units = all_provinces()
    assert len(units) == 34
    assert {p.code for p in units if p.is_city} == CITIES
    assert sum(not p.is_city for p in units) == 28
    assert len({p.code for p in units}) == 34
    assert len({p.name for p in units}) == 34


def test_codes_are_short_ascii_and_names_are_vietnamese() -> None:
    for p in all_provinces():
        assert p.code.isascii() and p.code.isupper() and len(p.code) == 3
        assert p.name_en.isascii()
        assert unicodedata.is_normalized("NFC", p.name)
    names = {p.name for p in all_provinces()}
    assert {"Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng", "Đắk Lắk", "Khánh Hòa", "Quảng Ngãi", "Cần Thơ"} <= names
    assert sum(not p.name.isascii() for p in all_provinces()) >= 30  # diacritics kept, not stripped
    assert province("HNI").full_name == "Thành phố Hà Nội"
    assert province("LCI").full_name == "Tỉnh Lào Cai"


def test_unchanged_and_merged_units() -> None:
    unchanged = {p.name for p in all_provinces() if not p.merged}
    assert unchanged == UNCHANGED
    assert sum(p.merged for p in all_provinces()) == 23
    assert set(province("HCM").formed_from) == {"TP. Hồ Chí Minh", "Bình Dương", "Bà Rịa–Vũng Tàu"}
    assert set(province("PTO").formed_from) == {"Phú Thọ", "Vĩnh Phúc", "Hòa Bình"}
    assert province("LDG").formed_from == ("Lâm Đồng", "Đắk Nông", "Bình Thuận")


def test_old_to_new_covers_the_63_old_provinces() -> None:
    assert len(OLD_TO_NEW) == 63
    assert set(OLD_TO_NEW.values()) == {p.code for p in all_provinces()}
    assert OLD_TO_NEW["Hà Giang"] == "TQG"
    assert OLD_TO_NEW["Yên Bái"] == "LCI"
    assert OLD_TO_NEW["Kon Tum"] == "QNG"
    assert OLD_TO_NEW["Bình Định"] == "GLI"
    assert OLD_TO_NEW["Phú Yên"] == "DLK"
    assert OLD_TO_NEW["Long An"] == "TNH"
    assert OLD_TO_NEW["Kiên Giang"] == "AGG"
    assert OLD_TO_NEW["Bạc Liêu"] == "CMU"
    assert OLD_TO_NEW["Tiền Giang"] == "DTP"
    assert OLD_TO_NEW["Hải Dương"] == "HPG"
    with pytest.raises(TypeError):
        OLD_TO_NEW["X"] = "Y"  # type: ignore[index]


def test_tolerant_lookups() -> None:
    assert new_code_for_old("Thừa Thiên Huế") == "HUE"
    assert new_code_for_old("tinh ba ria - vung tau") == "HCM"
    assert new_code_for_old("Dak Nong") == "LDG"
    assert new_code_for_old("Tỉnh Quảng Bình") == "QTI"
    assert new_code_for_old("Atlantis") is None
    assert find_province("Ho Chi Minh City").code == "HCM"
    assert find_province("Thanh pho Ha Noi").code == "HNI"
    assert find_province("dng").code == "DNG"
    with pytest.raises(KeyError, match="unknown province code"):
        province("XXX")


def test_table_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        province("HNI").name = "x"  # type: ignore[misc]
    assert isinstance(all_provinces(), tuple)


def test_tile_grid_positions_unique_compact_and_geographic() -> None:
    units = all_provinces()
    tiles = [p.tile for p in units]
    assert len(set(tiles)) == 34
    assert all(0 <= r < GRID_ROWS and 0 <= c < GRID_COLS for r, c in tiles)
    assert GRID_ROWS <= 13 and GRID_COLS <= 6
    assert not {(a.row, a.col) for a in ARCHIPELAGOS} & set(tiles)
    # North at the top: a unit's row rises (goes down the map) as its latitude falls.
    by_lat = sorted(units, key=lambda p: -p.lat)
    rows = [p.row for p in by_lat]
    inversions = sum(1 for i in range(len(rows)) for j in range(i + 1, len(rows)) if rows[i] > rows[j] + 1)
    assert inversions == 0
    assert province("HNI").row < province("DNG").row < province("HCM").row
    assert province("LCU").col < province("QNH").col  # west to east in the north


def test_centroids_and_seats_inside_vietnam() -> None:
    for p in all_provinces():
        for lat, lon in ((p.lat, p.lon), (p.seat_lat, p.seat_lon)):
            assert 8.0 <= lat <= 23.5 and 102.0 <= lon <= 110.0, p.code
    assert {a.province_code for a in ARCHIPELAGOS} == {"DNG", "KHA"}
