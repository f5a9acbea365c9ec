"""Vietnam's 34 provincial-level units after Resolution 202/2025/QH15 (from 1 July 2025).

6 centrally-run cities and 28 provinces. Each unit is a frozen :class:`Province`:

- ``code``: a short, stable ASCII code chosen for this application (not an official
  statistical code, which changed in 2025 and may change again). Three upper-case
  letters, after the unit's name: ``HNI`` Hà Nội, ``HCM`` TP. Hồ Chí Minh, ``DNG``
  Đà Nẵng, ``HPG`` Hải Phòng, ``CTO`` Cần Thơ, ``HUE`` Huế ... (full list in
  :data:`_TABLE`). Codes are used in entity codes (``HNI-AIR-03``), URLs and the
  store's ``province_code`` column, so they never change once published.
- ``name``: the Vietnamese name with diacritics, as written in the Resolution's
  tables ("Thanh Hóa", "Khánh Hòa"); :attr:`Province.full_name` adds "Thành phố" /
  "Tỉnh".
- ``name_en``: ASCII English name.
- ``is_city``: centrally-run city (thành phố trực thuộc trung ương).
- ``lat``/``lon``: approximate centroid of the merged territory (for labels and
  bubble maps; not a boundary). ``seat``/``seat_lat``/``seat_lon``: where the
  unit's government sits (new administrative centre of a merged unit).
- ``formed_from``: the old (63-province) units it was formed from.
- ``row``/``col``: position on a tile map (one equal square per unit, north at the
  top, the S shape of the country; :data:`GRID_ROWS` × :data:`GRID_COLS` grid, no
  two units on the same tile). :data:`ARCHIPELAGOS` gives label tiles for Quần đảo
  Hoàng Sa and Quần đảo Trường Sa, which every national map must show.
- ``part``: ``north`` / ``central`` / ``south`` (Miền Bắc / Trung / Nam), for
  grouping and for regional behaviour such as the northern winter haze.

Historic series recorded under an old province roll up to the new unit with
:data:`OLD_TO_NEW` (63 old names → new code) or the tolerant
:func:`new_code_for_old`, which also accepts spellings without diacritics,
"Tỉnh"/"TP." prefixes and older names ("Thừa Thiên Huế").
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

GRID_ROWS = 13
GRID_COLS = 6

PARTS = {"north": "Miền Bắc", "central": "Miền Trung", "south": "Miền Nam"}


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    name_en: str
    is_city: bool
    lat: float
    lon: float
    formed_from: tuple[str, ...]
    row: int
    col: int
    seat: str
    seat_lat: float
    seat_lon: float
    part: str

    @property
    def full_name(self) -> str:
        """'Thành phố Hà Nội', 'Tỉnh Lào Cai' (TP. Hồ Chí Minh → 'Thành phố Hồ Chí Minh')."""
        if self.is_city:
            return "Thành phố " + self.name.removeprefix("TP. ")
        return "Tỉnh " + self.name

    @property
    def merged(self) -> bool:
        """True if the unit was formed by merging two or more old units."""
        return len(self.formed_from) > 1

    @property
    def tile(self) -> tuple[int, int]:
        return (self.row, self.col)


@dataclass(frozen=True, slots=True)
class Archipelago:
    """Vietnam's offshore archipelagos, to be drawn on every national map."""

    name: str
    name_en: str
    province_code: str  # the unit it belongs to administratively
    lat: float
    lon: float
    row: int  # label tile on the tile map (never a province's tile)
    col: int


# code, name, name_en, is_city, lat, lon, formed_from, (row, col), seat, seat lat/lon, part
# Ordered north to south, roughly as on the tile map.
_TABLE: tuple[tuple, ...] = (
    ("LCU", "Lai Châu", "Lai Chau", False, 22.30, 103.15, ("Lai Châu",), (0, 0), "Lai Châu", 22.396, 103.458, "north"),
    ("LCI", "Lào Cai", "Lao Cai", False, 22.05, 104.40, ("Lào Cai", "Yên Bái"), (0, 1), "Yên Bái", 21.705, 104.875, "north"),
    ("TQG", "Tuyên Quang", "Tuyen Quang", False, 22.45, 105.10, ("Tuyên Quang", "Hà Giang"), (0, 2), "Tuyên Quang", 21.818, 105.211, "north"),
    ("CBG", "Cao Bằng", "Cao Bang", False, 22.75, 106.10, ("Cao Bằng",), (0, 3), "Cao Bằng", 22.666, 106.258, "north"),
    ("DBN", "Điện Biên", "Dien Bien", False, 21.65, 102.95, ("Điện Biên",), (1, 0), "Điện Biên Phủ", 21.386, 103.023, "north"),
    ("SLA", "Sơn La", "Son La", False, 21.20, 104.00, ("Sơn La",), (1, 1), "Sơn La", 21.327, 103.914, "north"),
    ("PTO", "Phú Thọ", "Phu Tho", False, 21.10, 105.30, ("Phú Thọ", "Vĩnh Phúc", "Hòa Bình"), (1, 2), "Việt Trì", 21.322, 105.402, "north"),
    ("TNN", "Thái Nguyên", "Thai Nguyen", False, 21.95, 105.83, ("Thái Nguyên", "Bắc Kạn"), (1, 3), "Thái Nguyên", 21.594, 105.848, "north"),
    ("LSN", "Lạng Sơn", "Lang Son", False, 21.80, 106.55, ("Lạng Sơn",), (1, 4), "Lạng Sơn", 21.853, 106.761, "north"),
    ("HNI", "Hà Nội", "Hanoi", True, 21.00, 105.70, ("Hà Nội",), (2, 2), "Hà Nội", 21.028, 105.854, "north"),
    ("BNH", "Bắc Ninh", "Bac Ninh", False, 21.28, 106.30, ("Bắc Ninh", "Bắc Giang"), (2, 3), "Bắc Giang", 21.273, 106.194, "north"),
    ("QNH", "Quảng Ninh", "Quang Ninh", False, 21.20, 107.30, ("Quảng Ninh",), (2, 4), "Hạ Long", 20.951, 107.080, "north"),
    ("THA", "Thanh Hóa", "Thanh Hoa", False, 20.00, 105.45, ("Thanh Hóa",), (3, 1), "Thanh Hóa", 19.807, 105.776, "central"),
    ("NBH", "Ninh Bình", "Ninh Binh", False, 20.30, 106.05, ("Ninh Bình", "Hà Nam", "Nam Định"), (3, 2), "Ninh Bình", 20.251, 105.975, "north"),
    ("HYN", "Hưng Yên", "Hung Yen", False, 20.60, 106.20, ("Hưng Yên", "Thái Bình"), (3, 3), "Hưng Yên", 20.646, 106.051, "north"),
    ("HPG", "Hải Phòng", "Hai Phong", True, 20.88, 106.45, ("Hải Phòng", "Hải Dương"), (3, 4), "Hải Phòng", 20.845, 106.688, "north"),
    ("NAN", "Nghệ An", "Nghe An", False, 19.20, 104.95, ("Nghệ An",), (4, 1), "Vinh", 18.679, 105.681, "central"),
    ("HTH", "Hà Tĩnh", "Ha Tinh", False, 18.30, 105.75, ("Hà Tĩnh",), (4, 2), "Hà Tĩnh", 18.343, 105.906, "central"),
    ("QTI", "Quảng Trị", "Quang Tri", False, 17.20, 106.50, ("Quảng Trị", "Quảng Bình"), (5, 2), "Đồng Hới", 17.468, 106.622, "central"),
    ("HUE", "Huế", "Hue", True, 16.35, 107.50, ("Huế",), (6, 2), "Huế", 16.463, 107.590, "central"),
    ("DNG", "Đà Nẵng", "Da Nang", True, 15.60, 108.00, ("Đà Nẵng", "Quảng Nam"), (6, 3), "Đà Nẵng", 16.054, 108.202, "central"),
    ("QNG", "Quảng Ngãi", "Quang Ngai", False, 14.80, 108.20, ("Quảng Ngãi", "Kon Tum"), (7, 3), "Quảng Ngãi", 15.120, 108.792, "central"),
    ("GLI", "Gia Lai", "Gia Lai", False, 13.90, 108.45, ("Gia Lai", "Bình Định"), (8, 3), "Quy Nhơn", 13.776, 109.224, "central"),
    ("DLK", "Đắk Lắk", "Dak Lak", False, 12.90, 108.40, ("Đắk Lắk", "Phú Yên"), (9, 3), "Buôn Ma Thuột", 12.667, 108.038, "central"),
    ("TNH", "Tây Ninh", "Tay Ninh", False, 10.95, 106.15, ("Tây Ninh", "Long An"), (10, 1), "Tân An", 10.535, 106.413, "south"),
    ("DNI", "Đồng Nai", "Dong Nai", False, 11.35, 107.05, ("Đồng Nai", "Bình Phước"), (10, 2), "Biên Hòa", 10.957, 106.843, "south"),
    ("LDG", "Lâm Đồng", "Lam Dong", False, 11.65, 107.90, ("Lâm Đồng", "Đắk Nông", "Bình Thuận"), (10, 3), "Đà Lạt", 11.940, 108.458, "central"),
    ("KHA", "Khánh Hòa", "Khanh Hoa", False, 12.00, 108.95, ("Khánh Hòa", "Ninh Thuận"), (10, 4), "Nha Trang", 12.238, 109.197, "central"),
    ("AGG", "An Giang", "An Giang", False, 10.20, 105.05, ("An Giang", "Kiên Giang"), (11, 0), "Rạch Giá", 10.012, 105.080, "south"),
    ("DTP", "Đồng Tháp", "Dong Thap", False, 10.45, 105.95, ("Đồng Tháp", "Tiền Giang"), (11, 1), "Mỹ Tho", 10.360, 106.360, "south"),
    ("HCM", "TP. Hồ Chí Minh", "Ho Chi Minh City", True, 10.85, 106.80, ("TP. Hồ Chí Minh", "Bình Dương", "Bà Rịa–Vũng Tàu"), (11, 2), "TP. Hồ Chí Minh", 10.776, 106.701, "south"),
    ("CMU", "Cà Mau", "Ca Mau", False, 9.10, 105.20, ("Cà Mau", "Bạc Liêu"), (12, 0), "Cà Mau", 9.177, 105.150, "south"),
    ("CTO", "Cần Thơ", "Can Tho", True, 9.80, 105.75, ("Cần Thơ", "Sóc Trăng", "Hậu Giang"), (12, 1), "Cần Thơ", 10.045, 105.747, "south"),
    ("VLG", "Vĩnh Long", "Vinh Long", False, 10.05, 106.25, ("Vĩnh Long", "Bến Tre", "Trà Vinh"), (12, 2), "Vĩnh Long", 10.254, 105.972, "south"),
)

_PROVINCES: tuple[Province, ...] = tuple(
    Province(
        code=code, name=name, name_en=name_en, is_city=is_city, lat=lat, lon=lon, formed_from=formed,
        row=tile[0], col=tile[1], seat=seat, seat_lat=seat_lat, seat_lon=seat_lon, part=part,
    )
    for code, name, name_en, is_city, lat, lon, formed, tile, seat, seat_lat, seat_lon, part in _TABLE
)
_BY_CODE: Mapping[str, Province] = MappingProxyType({p.code: p for p in _PROVINCES})

ARCHIPELAGOS: tuple[Archipelago, ...] = (
    Archipelago("Quần đảo Hoàng Sa", "Hoang Sa archipelago", "DNG", 16.50, 112.00, 6, 5),
    Archipelago("Quần đảo Trường Sa", "Truong Sa archipelago", "KHA", 10.00, 114.00, 11, 5),
)

# The 63 old provincial units (as named before 1 July 2025) → the new unit's code.
OLD_TO_NEW: Mapping[str, str] = MappingProxyType({old: p.code for p in _PROVINCES for old in p.formed_from})

# Other spellings met in older data, mapped to the canonical old name above.
_OLD_ALIASES = {
    "Thừa Thiên Huế": "Huế",
    "Thừa Thiên - Huế": "Huế",
    "Hồ Chí Minh": "TP. Hồ Chí Minh",
    "Sài Gòn": "TP. Hồ Chí Minh",
    "HCMC": "TP. Hồ Chí Minh",
    "Bà Rịa - Vũng Tàu": "Bà Rịa–Vũng Tàu",
    "Đắc Lắc": "Đắk Lắk",
    "Đăk Lăk": "Đắk Lắk",
    "Đăk Nông": "Đắk Nông",
    "Hà Tây": "Hà Nội",  # merged into Hà Nội in 2008
}


def _key(text: str) -> str:
    """Comparison key: no diacritics, no case, no 'Tỉnh'/'TP.' prefix, no spaces or dashes."""
    text = unicodedata.normalize("NFD", text.strip().lower()).replace("đ", "d")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"^(thanh pho|tp\.?|tinh)\s+", "", text)
    return re.sub(r"[\s\-–—_.]+", "", text)


_LOOKUP: dict[str, str] = {}
for _p in _PROVINCES:
    for _text in (_p.code, _p.name, _p.name_en, _p.full_name):
        _LOOKUP.setdefault(_key(_text), _p.code)
_OLD_LOOKUP: dict[str, str] = {_key(old): code for old, code in OLD_TO_NEW.items()}
for _alias, _old in _OLD_ALIASES.items():
    _OLD_LOOKUP[_key(_alias)] = OLD_TO_NEW[_old]
_LOOKUP_EN = {"hanoi": "HNI", "saigon": "HCM", "hochiminh": "HCM", "hochiminhcity": "HCM", "danang": "DNG"}


def all_provinces() -> tuple[Province, ...]:
    """The 34 units, north to south."""
    return _PROVINCES


def province_codes() -> tuple[str, ...]:
    return tuple(p.code for p in _PROVINCES)


def province(code: str) -> Province:
    """The unit with ``code`` (e.g. 'HNI'); KeyError naming the known codes otherwise."""
    try:
        return _BY_CODE[code.strip().upper()]
    except (KeyError, AttributeError):
        raise KeyError(f"unknown province code {code!r}; known codes: {', '.join(_BY_CODE)}") from None


def find_province(text: str) -> Province | None:
    """A new unit by code, Vietnamese or English name, with or without diacritics; None if unknown."""
    key = _key(text)
    code = _LOOKUP.get(key) or _LOOKUP_EN.get(key)
    return _BY_CODE[code] if code else None


def new_code_for_old(name: str) -> str | None:
    """The new unit's code for an old (63-province) unit name, tolerant of spelling; None if unknown.

    A name that is already a new unit (or its code) maps to itself.
    """
    key = _key(name)
    code = _OLD_LOOKUP.get(key)
    if code is None:
        found = find_province(name)
        code = found.code if found else None
    return code


__all__ = [
    "ARCHIPELAGOS",
    "GRID_COLS",
    "GRID_ROWS",
    "OLD_TO_NEW",
    "PARTS",
    "Archipelago",
    "Province",
    "all_provinces",
    "find_province",
    "new_code_for_old",
    "province",
    "province_codes",
]
