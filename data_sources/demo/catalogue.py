"""The simulated world's fixed parts: stations, facilities, units, links, indicators.

Everything here depends only on the feed options that shape it (station counts),
never on the seed or the clock, so an entity keeps its code, name and place across
runs and re-seeding changes only the values. Codes follow ``<PROVINCE>-<TYPE>-<NN>``
(``HNI-AIR-03``, ``HCM-WW-12``, ``QNH-EM-02``, ``DNI-FAC-04``, ``QNH-PLT-01``,
``LCI-GNSS-02``); provinces use their code from :mod:`reference.provinces`; ministry
units ``MAE-...``; data links ``LINK-...``; report indicators ``BC01``…``BC32`` and
their per-reporter submissions ``BC01-HNI``.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from data_sources.base import Entity
from data_sources.demo.noise import stable_key, uniform
from reference.provinces import Province, all_provinces, province

# --------------------------------------------------------------------------- helpers


def to_ascii(text: str) -> str:
    """'Trạm Nguyễn Văn Cừ' → 'Tram Nguyen Van Cu'."""
    text = text.replace("đ", "d").replace("Đ", "D").replace("–", "-")
    text = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def u(key: str, n: int = 0) -> float:
    """A fixed uniform [0, 1) draw for a catalogue decision (seed-independent)."""
    return float(uniform(stable_key(key), n))


def allocate(total: int, weights: dict[str, float], minimum: int = 1) -> dict[str, int]:
    """Spread ``total`` items over the 34 provinces: ``minimum`` each, the rest by weight."""
    provinces = all_provinces()
    ranked = sorted(provinces, key=lambda p: (-weights.get(p.code, 0.0), p.row, p.col))
    if total < minimum * len(provinces):
        return {p.code: (1 if i < total else 0) for i, p in enumerate(ranked)}
    counts = {p.code: minimum for p in provinces}
    extra = total - minimum * len(provinces)
    weight_sum = sum(weights.get(p.code, 0.0) for p in provinces) or 1.0
    quotas = {p.code: extra * weights.get(p.code, 0.0) / weight_sum for p in provinces}
    for code, quota in quotas.items():
        counts[code] += int(quota)
    left = total - sum(counts.values())
    by_remainder = sorted(provinces, key=lambda p: (-(quotas[p.code] - int(quotas[p.code])), p.row, p.col))
    for p in by_remainder[:left]:
        counts[p.code] += 1
    return counts


def place(p: Province, key: str, spread: float = 0.3, jitter: float = 0.05) -> tuple[float, float]:
    """A point between the unit's seat and its centroid (a little beyond if spread > 1)."""
    f = 0.08 + spread * u(key, 1)
    lat = p.seat_lat + f * (p.lat - p.seat_lat) + (u(key, 2) - 0.5) * jitter
    lon = p.seat_lon + f * (p.lon - p.seat_lon) + (u(key, 3) - 0.5) * jitter
    return round(lat, 4), round(lon, 4)


# Industrial / urban weight of each unit: where the extra stations go.
INDUSTRY_WEIGHT: dict[str, float] = {
    "HNI": 10, "HCM": 10, "HPG": 4, "BNH": 4, "DNI": 3, "QNH": 3, "DNG": 3, "HYN": 2.5, "NBH": 2.5,
    "THA": 2, "TNN": 2, "PTO": 2, "TNH": 1.5, "CTO": 1.2, "NAN": 1.2, "HTH": 1.2, "QNG": 1.2, "KHA": 1,
    "GLI": 1, "HUE": 0.8, "LDG": 0.8, "VLG": 0.6, "DTP": 0.6, "AGG": 0.6, "LCI": 0.6, "DLK": 0.5, "QTI": 0.5,
    "CMU": 0.5, "LSN": 0.3, "TQG": 0.3, "SLA": 0.3, "CBG": 0.2, "DBN": 0.2, "LCU": 0.1,
}

# Rough size of each unit's population and administration (public-service volumes).
SIZE_WEIGHT: dict[str, float] = {
    "HCM": 14, "HNI": 9, "HPG": 4.7, "NBH": 4.1, "PTO": 4.0, "BNH": 3.8, "THA": 3.8, "NAN": 3.5, "HYN": 3.6,
    "DNG": 3.1, "AGG": 4.1, "DNI": 4.5, "GLI": 3.6, "TNH": 3.3, "VLG": 4.2, "DTP": 4.4, "CTO": 4.2, "QNG": 2.2,
    "DLK": 3.3, "LDG": 3.9, "KHA": 2.0, "QTI": 1.9, "TNN": 1.8, "LCI": 1.8, "TQG": 1.9, "QNH": 1.4, "HTH": 1.3,
    "HUE": 1.2, "CMU": 2.6, "SLA": 1.3, "LSN": 0.8, "CBG": 0.6, "DBN": 0.6, "LCU": 0.5,
}

# Places used to name sites, by unit (wards, towns, landmarks; the first near the seat).
PLACES: dict[str, tuple[str, ...]] = {
    "HNI": ("Nguyễn Văn Cừ", "Hàng Đậu", "Minh Khai", "Kim Liên", "Thành Công", "Hoàn Kiếm", "Tây Mỗ", "Mỹ Đình",
            "Phạm Văn Đồng", "Đại học Quốc gia", "Vân Hà", "Sóc Sơn", "Hà Đông", "Chương Mỹ", "Trung Yên", "Long Biên"),
    "HCM": ("Thảo Cầm Viên", "Hồng Bàng", "Tân Sơn Hòa", "Bến Thành", "Thủ Đức", "Phú Mỹ Hưng", "Bình Chánh",
            "Củ Chi", "Dĩ An", "Thủ Dầu Một", "Vũng Tàu", "Phú Mỹ", "Bà Rịa", "Tân Uyên", "Bến Cát", "Cần Giờ"),
    "HPG": ("Lạch Tray", "Hồng Bàng", "Đình Vũ", "Kiến An", "Thành Đông", "Chí Linh", "Thủy Nguyên", "Kinh Môn"),
    "DNG": ("Hải Châu", "Sơn Trà", "Liên Chiểu", "Hòa Khánh", "Ngũ Hành Sơn", "Tam Kỳ", "Hội An", "Điện Bàn"),
    "HUE": ("Phú Hội", "Phú Bài", "Hương Thủy", "Thuận An"),
    "CTO": ("Ninh Kiều", "Trà Nóc", "Cái Răng", "Sóc Trăng", "Vị Thanh"),
    "LCU": ("Tân Phong", "Tam Đường", "Than Uyên"),
    "DBN": ("Mường Thanh", "Điện Biên Đông", "Mường Lay"),
    "SLA": ("Chiềng Lề", "Mộc Châu", "Mai Sơn", "Phù Yên"),
    "LSN": ("Đông Kinh", "Đồng Đăng", "Hữu Lũng"),
    "QNH": ("Hạ Long", "Cẩm Phả", "Uông Bí", "Mông Dương", "Quảng Yên", "Móng Cái", "Đông Triều"),
    "CBG": ("Hợp Giang", "Hòa An", "Trùng Khánh"),
    "TQG": ("Minh Xuân", "Hà Giang", "Đồng Văn", "Chiêm Hóa"),
    "LCI": ("Yên Bái", "Cam Đường", "Tằng Loỏng", "Sa Pa", "Nghĩa Lộ", "Bắc Hà"),
    "TNN": ("Phan Đình Phùng", "Sông Công", "Phổ Yên", "Bắc Kạn", "Đại Từ"),
    "PTO": ("Việt Trì", "Vĩnh Yên", "Phúc Yên", "Hòa Bình", "Lâm Thao", "Tam Dương"),
    "BNH": ("Suối Hoa", "Yên Phong", "Quế Võ", "Từ Sơn", "Bắc Giang", "Việt Yên", "Lục Nam"),
    "HYN": ("Hưng Yên", "Phố Nối", "Mỹ Hào", "Thái Bình", "Tiền Hải", "Văn Lâm"),
    "NBH": ("Hoa Lư", "Tam Điệp", "Phủ Lý", "Nam Định", "Kiện Khê", "Đồng Văn"),
    "THA": ("Hạc Thành", "Nghi Sơn", "Bỉm Sơn", "Sầm Sơn", "Lam Sơn"),
    "NAN": ("Trường Vinh", "Hoàng Mai", "Cửa Lò", "Thái Hòa", "Đô Lương"),
    "HTH": ("Thành Sen", "Vũng Áng", "Kỳ Anh", "Hồng Lĩnh"),
    "QTI": ("Đồng Hới", "Đông Hà", "Ba Đồn", "Lệ Thủy"),
    "QNG": ("Cẩm Thành", "Dung Quất", "Kon Tum", "Đức Phổ", "Ngọc Hồi"),
    "GLI": ("Quy Nhơn", "Pleiku", "Nhơn Hội", "An Nhơn", "An Khê", "Chư Sê"),
    "DLK": ("Buôn Ma Thuột", "Tuy Hòa", "Ea Kar", "Buôn Hồ", "Sông Cầu"),
    "KHA": ("Nha Trang", "Cam Ranh", "Phan Rang", "Ninh Hải", "Ninh Hòa"),
    "LDG": ("Đà Lạt", "Bảo Lộc", "Phan Thiết", "Gia Nghĩa", "Đức Trọng", "La Gi"),
    "DNI": ("Biên Hòa", "Nhơn Trạch", "Long Thành", "Trảng Bom", "Đồng Xoài", "Bình Long"),
    "TNH": ("Tân An", "Tây Ninh", "Bến Lức", "Trảng Bàng", "Đức Hòa", "Gò Dầu"),
    "VLG": ("Vĩnh Long", "Bến Tre", "Trà Vinh", "Duyên Hải"),
    "DTP": ("Mỹ Tho", "Cao Lãnh", "Sa Đéc", "Gò Công"),
    "CMU": ("Cà Mau", "Bạc Liêu", "Năm Căn", "Giá Rai"),
    "AGG": ("Rạch Giá", "Long Xuyên", "Châu Đốc", "Kiên Lương", "Phú Quốc", "Hà Tiên"),
}

# Places well above sea level: °C to add to the lowland temperature.
HIGHLAND_OFFSET: dict[str, float] = {
    "Đà Lạt": -8.0, "Sa Pa": -9.0, "Bảo Lộc": -5.0, "Mộc Châu": -5.5, "Đồng Văn": -6.0, "Bắc Hà": -5.0,
    "Pleiku": -4.0, "Buôn Ma Thuột": -3.5, "Gia Nghĩa": -3.5, "Kon Tum": -3.0, "Ngọc Hồi": -3.0, "Đức Trọng": -5.0,
    "Chư Sê": -3.5, "Buôn Hồ": -3.5, "Ea Kar": -2.5, "An Khê": -2.0, "Tam Đường": -4.0, "Tân Phong": -3.5,
    "Than Uyên": -3.0, "Chiềng Lề": -2.5, "Mai Sơn": -2.5, "Điện Biên Đông": -2.5, "Mường Thanh": -1.5,
    "Hà Giang": -1.0, "Trùng Khánh": -2.0,
}

# Coastal/island sites that belong on the map even though the jitter would miss them.
ISLANDS: dict[str, tuple[str, str, float, float]] = {
    "HPG": ("HPG", "Bạch Long Vĩ", 20.1335, 107.7250),
    "QTI": ("QTI", "Cồn Cỏ", 17.1595, 107.3405),
    "QNG": ("QNG", "Lý Sơn", 15.3800, 109.1200),
    "HCM": ("HCM", "Côn Đảo", 8.6833, 106.6089),
    "AGG": ("AGG", "Phú Quốc", 10.2270, 103.9670),
}


def _operator(p: Province, national: bool) -> str:
    if national:
        region = {"north": "miền Bắc", "central": "miền Trung và Tây Nguyên", "south": "miền Nam"}[p.part]
        return f"Trung tâm Quan trắc môi trường {region}"
    return f"Sở Nông nghiệp và Môi trường {p.name}"


@dataclass(frozen=True)
class Site:
    """One simulated station (or other entity) with the numbers its model needs."""

    entity: Entity
    province: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.entity.code


def province_entity(p: Province) -> Entity:
    """The entity of a provincial unit; the same object wherever a feed reports on a province."""
    return Entity(
        code=p.code,
        kind="province",
        name=p.name,
        name_en=p.name_en,
        subtype="city" if p.is_city else "province",
        province_code=p.code,
        lat=p.lat,
        lon=p.lon,
        meta={
            "full_name": p.full_name,
            "formed_from": list(p.formed_from),
            "seat": p.seat,
            "tile": [p.row, p.col],
            "part": p.part,
        },
    )


def province_entities() -> list[Entity]:
    return [province_entity(p) for p in all_provinces()]


# --------------------------------------------------------------------------- ministry units

# code, name, name_en, scale of its public-service and document volumes
MINISTRY_UNITS: tuple[tuple[str, str, str, float], ...] = (
    ("MAE-VP", "Văn phòng Bộ", "Ministry Office", 3.0),
    ("MAE-KHTC", "Vụ Kế hoạch – Tài chính", "Department of Planning and Finance", 1.2),
    ("MAE-PC", "Vụ Pháp chế", "Department of Legal Affairs", 0.8),
    ("MAE-TCCB", "Vụ Tổ chức cán bộ", "Department of Personnel and Organisation", 0.8),
    ("MAE-TTR", "Thanh tra Bộ", "Ministry Inspectorate", 1.0),
    ("MAE-QLDD", "Cục Quản lý đất đai", "Department of Land Management", 2.5),
    ("MAE-MT", "Cục Môi trường", "Department of Environment", 2.2),
    ("MAE-TNN", "Cục Quản lý tài nguyên nước", "Department of Water Resources Management", 1.6),
    ("MAE-KTTV", "Cục Khí tượng thủy văn", "Department of Hydro-Meteorology", 1.0),
    ("MAE-DDBD", "Cục Đo đạc, Bản đồ và Thông tin địa lý Việt Nam", "Department of Survey, Mapping and Geographic Information", 1.0),
    ("MAE-CDS", "Cục Chuyển đổi số", "Department of Digital Transformation", 0.8),
    ("MAE-BHD", "Cục Biển và Hải đảo Việt Nam", "Viet Nam Agency of Seas and Islands", 0.9),
    ("MAE-DCKS", "Cục Địa chất và Khoáng sản Việt Nam", "Department of Geology and Minerals", 1.4),
    ("MAE-BDKH", "Cục Biến đổi khí hậu", "Department of Climate Change", 0.7),
    ("MAE-BTTN", "Cục Bảo tồn thiên nhiên và Đa dạng sinh học", "Department of Nature Conservation and Biodiversity", 0.6),
    ("MAE-TT", "Cục Trồng trọt và Bảo vệ thực vật", "Department of Crop Production and Plant Protection", 1.5),
    ("MAE-CNTY", "Cục Chăn nuôi và Thú y", "Department of Livestock Production and Animal Health", 1.5),
    ("MAE-TS", "Cục Thủy sản và Kiểm ngư", "Department of Fisheries and Fisheries Surveillance", 1.3),
    ("MAE-LN", "Cục Lâm nghiệp và Kiểm lâm", "Department of Forestry and Forest Protection", 1.1),
    ("MAE-TL", "Cục Thủy lợi", "Department of Water Resources Engineering", 0.9),
    ("MAE-DD", "Cục Quản lý đê điều và Phòng, chống thiên tai", "Department of Dyke Management and Disaster Prevention", 0.8),
)


def unit_entities() -> list[Entity]:
    hq = province("HNI")
    return [
        Entity(code=code, kind="unit", name=name, name_en=name_en, subtype="ministry_unit", province_code=None,
               lat=hq.seat_lat, lon=hq.seat_lon, meta={"organisation": "Bộ Nông nghiệp và Môi trường", "scale": scale})
        for code, name, name_en, scale in MINISTRY_UNITS
    ]


# --------------------------------------------------------------------------- air

_AIR_TYPES = ("urban", "traffic", "industrial", "urban", "background", "traffic", "industrial", "urban")
# Annual mean PM2.5 baseline (µg/m³) of an urban site in each unit.
PM25_BASE: dict[str, float] = {
    "HNI": 40, "BNH": 36, "HYN": 34, "HPG": 33, "NBH": 32, "TNN": 32, "PTO": 31, "QNH": 27, "THA": 28, "NAN": 24,
    "HTH": 22, "LSN": 23, "CBG": 21, "TQG": 21, "LCI": 23, "SLA": 22, "DBN": 22, "LCU": 18, "QTI": 18, "HUE": 18,
    "DNG": 19, "QNG": 18, "GLI": 17, "DLK": 18, "KHA": 16, "LDG": 15, "HCM": 27, "DNI": 27, "TNH": 24, "CTO": 22,
    "VLG": 20, "DTP": 21, "AGG": 20, "CMU": 20,
}


@lru_cache(maxsize=16)
def air_sites(count: int = 80) -> tuple[Site, ...]:
    counts = allocate(count, INDUSTRY_WEIGHT)
    sites: list[Site] = []
    for p in all_provinces():
        names = PLACES[p.code]
        for i in range(counts[p.code]):
            code = f"{p.code}-AIR-{i + 1:02d}"
            place_name = names[i % len(names)] + ("" if i < len(names) else f" {i // len(names) + 1}")
            site_type = _AIR_TYPES[i % len(_AIR_TYPES)] if counts[p.code] > 1 else "urban"
            lat, lon = place(p, code, spread=0.15 if i < 3 else 0.5)
            national = i == 0
            name = f"Trạm quan trắc không khí {place_name}"
            entity = Entity(
                code=code, kind="station", name=name, name_en=f"Air quality station {to_ascii(place_name)}",
                subtype="air", province_code=p.code, lat=lat, lon=lon,
                meta={
                    "site_type": site_type,
                    "operator": _operator(p, national),
                    "network": "national" if national else "provincial",
                    "parameters": ["PM2.5", "PM10", "NO2", "SO2", "CO", "O3", "Temp", "RH"],
                    "regulation": "QCVN 05:2023/BTNMT",
                },
            )
            sites.append(Site(entity, p.code, {"site_type": site_type, "place": place_name}))
    return tuple(sites)


# --------------------------------------------------------------------------- surface water

# unit, river/lake, site, pollution class (0 clean, 1 moderate, 2 polluted, 3 heavily polluted)
WATER_SITES: tuple[tuple[str, str, str, int], ...] = (
    ("HNI", "Sông Hồng", "cầu Long Biên", 1),
    ("HNI", "Sông Nhuệ", "cầu Hà Đông", 3),
    ("HNI", "Sông Tô Lịch", "cầu Mới", 3),
    ("HNI", "Sông Đuống", "cầu Đuống", 1),
    ("HNI", "Sông Đáy", "Ba Thá", 2),
    ("HCM", "Sông Sài Gòn", "Phú Cường", 1),
    ("HCM", "Kênh Nhiêu Lộc – Thị Nghè", "cầu Điện Biên Phủ", 3),
    ("HCM", "Sông Thị Vải", "Phú Mỹ", 2),
    ("HCM", "Sông Sài Gòn", "Bình Phước", 2),
    ("DNI", "Sông Đồng Nai", "Hóa An", 0),
    ("DNI", "Sông Bé", "Đồng Xoài", 0),
    ("BNH", "Sông Cầu", "Đáp Cầu", 2),
    ("BNH", "Sông Ngũ Huyện Khê", "Phong Khê", 3),
    ("BNH", "Sông Thương", "cầu Xương Giang", 1),
    ("TNN", "Sông Cầu", "Thác Huống", 1),
    ("TNN", "Sông Cầu", "Bắc Kạn", 0),
    ("PTO", "Sông Lô", "Việt Trì", 0),
    ("PTO", "Sông Đà", "Hòa Bình", 0),
    ("HPG", "Sông Cấm", "Bến Bính", 1),
    ("HPG", "Sông Thái Bình", "Phú Lương", 1),
    ("QNH", "Sông Ka Long", "Móng Cái", 0),
    ("HYN", "Sông Luộc", "Triều Dương", 1),
    ("HYN", "Sông Trà Lý", "Thái Bình", 1),
    ("NBH", "Sông Đáy", "Phủ Lý", 2),
    ("NBH", "Sông Đào", "Nam Định", 1),
    ("THA", "Sông Mã", "Hàm Rồng", 0),
    ("NAN", "Sông Lam", "Bến Thủy", 0),
    ("QTI", "Sông Nhật Lệ", "Đồng Hới", 0),
    ("HUE", "Sông Hương", "Kim Long", 0),
    ("DNG", "Sông Hàn", "cầu Rồng", 1),
    ("DNG", "Sông Thu Bồn", "Giao Thủy", 0),
    ("QNG", "Sông Trà Khúc", "Quảng Ngãi", 0),
    ("GLI", "Sông Hà Thanh", "Quy Nhơn", 1),
    ("KHA", "Sông Cái", "Nha Trang", 0),
    ("LDG", "Hồ Xuân Hương", "Đà Lạt", 1),
    ("DLK", "Sông Srêpốk", "Buôn Ma Thuột", 0),
    ("TNH", "Sông Vàm Cỏ Đông", "Bến Lức", 1),
    ("CTO", "Sông Hậu", "Cần Thơ", 0),
    ("DTP", "Sông Tiền", "Mỹ Tho", 0),
    ("AGG", "Sông Hậu", "Châu Đốc", 0),
    ("VLG", "Sông Cổ Chiên", "Vĩnh Long", 0),
    ("CMU", "Sông Gành Hào", "Cà Mau", 1),
    ("LCI", "Sông Hồng", "Lào Cai", 0),
    ("SLA", "Sông Đà", "Tạ Bú", 0),
    ("LSN", "Sông Kỳ Cùng", "Lạng Sơn", 0),
    ("CBG", "Sông Bằng Giang", "Cao Bằng", 0),
)
WATER_CLASS_NAMES = ("clean", "moderate", "polluted", "heavily_polluted")


@lru_cache(maxsize=16)
def water_sites(count: int | None = None) -> tuple[Site, ...]:
    count = len(WATER_SITES) if count is None else count
    chosen = [WATER_SITES[i % len(WATER_SITES)] + (i // len(WATER_SITES),) for i in range(count)]
    numbers: dict[str, int] = {}
    sites = []
    for prov, river, site, cls, rep in sorted(chosen, key=lambda r: (province(r[0]).row, province(r[0]).col)):
        p = province(prov)
        numbers[prov] = numbers.get(prov, 0) + 1
        code = f"{prov}-SW-{numbers[prov]:02d}"
        label = f"{river} – {site}" + (f" (điểm {rep + 1})" if rep else "")
        lat, lon = place(p, code, spread=0.3, jitter=0.06)
        entity = Entity(
            code=code, kind="station", name=f"Trạm quan trắc nước mặt {label}",
            name_en=f"Surface water station {to_ascii(label)}", subtype="surface_water", province_code=p.code,
            lat=lat, lon=lon,
            meta={
                "water_body": river,
                "site": site,
                "quality_class": WATER_CLASS_NAMES[cls],
                "operator": _operator(p, numbers[prov] == 1),
                "parameters": ["pH", "DO", "Temp", "BOD5", "COD", "TOC", "N-NH4", "N-NO3", "N-NO2", "P-PO4",
                               "Coliform", "Turbidity", "TSS"],
                "index": "VN_WQI (Decision 1460/QĐ-TCMT)",
            },
        )
        sites.append(Site(entity, p.code, {"class": cls, "place": site}))
    return tuple(sites)


# --------------------------------------------------------------------------- wastewater

# unit, facility name, sector, big (has a second outfall)
WASTEWATER_FACILITIES: tuple[tuple[str, str, str, bool], ...] = (
    ("HNI", "KCN Thăng Long", "industrial_park", True),
    ("HNI", "KCN Quang Minh", "industrial_park", False),
    ("HNI", "KCN Nội Bài", "industrial_park", False),
    ("HNI", "KCN Phú Nghĩa", "industrial_park", False),
    ("HNI", "KCN Thạch Thất – Quốc Oai", "industrial_park", False),
    ("HNI", "Nhà máy xử lý nước thải Yên Sở", "municipal_wwtp", True),
    ("HNI", "Nhà máy xử lý nước thải Bắc Thăng Long – Vân Trì", "municipal_wwtp", False),
    ("HCM", "KCX Tân Thuận", "industrial_park", True),
    ("HCM", "KCN Hiệp Phước", "industrial_park", True),
    ("HCM", "KCN Tân Bình", "industrial_park", False),
    ("HCM", "KCN Vĩnh Lộc", "industrial_park", False),
    ("HCM", "KCN Lê Minh Xuân", "industrial_park", False),
    ("HCM", "KCN Tân Tạo", "industrial_park", False),
    ("HCM", "KCN VSIP I", "industrial_park", True),
    ("HCM", "KCN Mỹ Phước 3", "industrial_park", False),
    ("HCM", "KCN Sóng Thần 1", "industrial_park", False),
    ("HCM", "KCN Phú Mỹ I", "industrial_park", False),
    ("HCM", "Nhà máy xử lý nước thải Bình Hưng", "municipal_wwtp", False),
    ("DNI", "KCN Biên Hòa 2", "industrial_park", True),
    ("DNI", "KCN Amata", "industrial_park", False),
    ("DNI", "KCN Nhơn Trạch 3", "industrial_park", False),
    ("DNI", "KCN Long Thành", "industrial_park", False),
    ("DNI", "Công ty TNHH Vedan Việt Nam", "food_processing", True),
    ("DNI", "KCN Đồng Xoài I", "industrial_park", False),
    ("BNH", "KCN Yên Phong", "industrial_park", True),
    ("BNH", "KCN Quế Võ", "industrial_park", False),
    ("BNH", "KCN VSIP Bắc Ninh", "industrial_park", False),
    ("BNH", "KCN Tiên Sơn", "industrial_park", False),
    ("BNH", "KCN Đình Trám", "industrial_park", False),
    ("BNH", "KCN Quang Châu", "industrial_park", False),
    ("BNH", "KCN Song Khê – Nội Hoàng", "industrial_park", False),
    ("HPG", "KCN Đình Vũ", "industrial_park", True),
    ("HPG", "KCN Tràng Duệ", "industrial_park", False),
    ("HPG", "KCN Nomura – Hải Phòng", "industrial_park", False),
    ("HPG", "KCN VSIP Hải Phòng", "industrial_park", False),
    ("HPG", "KCN Đại An", "industrial_park", False),
    ("HYN", "KCN Phố Nối A", "industrial_park", False),
    ("HYN", "KCN Thăng Long II", "industrial_park", True),
    ("HYN", "KCN Minh Đức", "industrial_park", False),
    ("HYN", "KCN Tiền Hải", "industrial_park", False),
    ("PTO", "KCN Bá Thiện", "industrial_park", False),
    ("PTO", "KCN Khai Quang", "industrial_park", False),
    ("PTO", "KCN Thụy Vân", "industrial_park", False),
    ("PTO", "Tổng công ty Giấy Việt Nam – Nhà máy giấy Bãi Bằng", "pulp_paper", True),
    ("PTO", "Công ty CP Supe phốt phát và Hóa chất Lâm Thao", "chemicals", False),
    ("TNN", "KCN Yên Bình", "industrial_park", False),
    ("TNN", "KCN Sông Công I", "industrial_park", False),
    ("TNN", "KCN Điềm Thụy", "industrial_park", False),
    ("QNH", "KCN Cái Lân", "industrial_park", False),
    ("QNH", "KCN Đông Mai", "industrial_park", False),
    ("QNH", "Công ty CP Than Hà Lầm – Vinacomin", "mining", False),
    ("QNH", "Công ty Than Mông Dương – Vinacomin", "mining", False),
    ("NBH", "KCN Đồng Văn II", "industrial_park", False),
    ("NBH", "KCN Hòa Xá", "industrial_park", False),
    ("NBH", "KCN Khánh Phú", "industrial_park", False),
    ("NBH", "KCN Gián Khẩu", "industrial_park", False),
    ("THA", "KCN Lễ Môn", "industrial_park", False),
    ("THA", "Công ty CP Mía đường Lam Sơn", "food_processing", False),
    ("THA", "KKT Nghi Sơn – KCN số 3", "industrial_park", False),
    ("NAN", "KCN Nam Cấm", "industrial_park", False),
    ("NAN", "KCN VSIP Nghệ An", "industrial_park", False),
    ("HTH", "KKT Vũng Áng – Công ty TNHH Gang thép Hưng Nghiệp Formosa Hà Tĩnh", "steel", True),
    ("HTH", "KCN Gia Lách", "industrial_park", False),
    ("QTI", "KCN Tây Bắc Đồng Hới", "industrial_park", False),
    ("QTI", "KCN Nam Đông Hà", "industrial_park", False),
    ("HUE", "KCN Phú Bài", "industrial_park", False),
    ("HUE", "KCN Phong Điền", "industrial_park", False),
    ("DNG", "KCN Hòa Khánh", "industrial_park", True),
    ("DNG", "KCN Liên Chiểu", "industrial_park", False),
    ("DNG", "KCN Hòa Cầm", "industrial_park", False),
    ("DNG", "KCN Điện Nam – Điện Ngọc", "industrial_park", False),
    ("QNG", "KCN Tịnh Phong", "industrial_park", False),
    ("QNG", "Công ty CP Lọc hóa dầu Bình Sơn", "refinery", False),
    ("QNG", "KCN Hòa Bình – Kon Tum", "industrial_park", False),
    ("GLI", "KCN Phú Tài", "industrial_park", False),
    ("GLI", "KCN Trà Đa", "industrial_park", False),
    ("KHA", "KCN Suối Dầu", "industrial_park", False),
    ("KHA", "KCN Thành Hải", "industrial_park", False),
    ("LDG", "KCN Lộc Sơn", "industrial_park", False),
    ("LDG", "KCN Phan Thiết", "industrial_park", False),
    ("DLK", "KCN Hòa Phú", "industrial_park", False),
    ("DLK", "KCN An Phú", "industrial_park", False),
    ("TNH", "KCN Trảng Bàng", "industrial_park", False),
    ("TNH", "KCN Phước Đông", "industrial_park", False),
    ("TNH", "KCN Long Hậu", "industrial_park", False),
    ("TNH", "KCN Tân Đức", "industrial_park", False),
    ("CTO", "KCN Trà Nóc", "industrial_park", True),
    ("CTO", "KCN Hưng Phú", "industrial_park", False),
    ("VLG", "KCN Hòa Phú – Vĩnh Long", "industrial_park", False),
    ("VLG", "KCN Giao Long", "industrial_park", False),
    ("DTP", "KCN Sa Đéc", "industrial_park", False),
    ("DTP", "KCN Tân Hương", "industrial_park", False),
    ("CMU", "Công ty Phân bón Dầu khí Cà Mau", "chemicals", False),
    ("AGG", "KCN Bình Hòa", "industrial_park", False),
    ("AGG", "KCN Thạnh Lộc", "industrial_park", False),
    ("LCI", "KCN Tằng Loỏng", "industrial_park", False),
    ("LCI", "KCN phía Nam Yên Bái", "industrial_park", False),
    ("TQG", "KCN Long Bình An", "industrial_park", False),
    ("LSN", "KCN Đồng Bành", "industrial_park", False),
    ("SLA", "Công ty CP Mía đường Sơn La", "food_processing", False),
    ("CBG", "Nhà máy xử lý nước thải TP Cao Bằng", "municipal_wwtp", False),
    ("DBN", "Nhà máy xử lý nước thải TP Điện Biên Phủ", "municipal_wwtp", False),
    ("LCU", "Nhà máy xử lý nước thải TP Lai Châu", "municipal_wwtp", False),
)

QCVN40_2011 = {  # parameter: (column A, column B); pH as (low, high)
    "pH": ((6.0, 9.0), (5.5, 9.0)),
    "COD": (75.0, 150.0),
    "BOD5": (30.0, 50.0),
    "TSS": (50.0, 100.0),
    "NH4+": (5.0, 10.0),
}
_FLOW_BY_SECTOR = {  # typical design flow, m³/day
    "industrial_park": (1500, 12000), "municipal_wwtp": (20000, 200000), "food_processing": (800, 6000),
    "pulp_paper": (8000, 40000), "chemicals": (1000, 8000), "mining": (2000, 15000), "steel": (10000, 60000),
    "refinery": (3000, 12000),
}


def kf_for_flow(flow_m3_day: float) -> float:
    """QCVN 40:2011's discharge-flow factor Kf."""
    if flow_m3_day <= 50:
        return 1.2
    if flow_m3_day <= 500:
        return 1.1
    if flow_m3_day <= 5000:
        return 1.0
    return 0.9


@lru_cache(maxsize=16)
def wastewater_sites(count: int | None = None) -> tuple[tuple[Entity, ...], tuple[Site, ...]]:
    """(facility entities, outfall station sites); the default count is every outfall listed (117)."""
    outfalls = [(f, 1) for f in WASTEWATER_FACILITIES] + [(f, 2) for f in WASTEWATER_FACILITIES if f[3]]
    count = len(outfalls) if count is None else count
    outfalls = [outfalls[i % len(outfalls)] + (i // len(outfalls),) for i in range(count)]
    facility_numbers: dict[tuple[str, str], str] = {}
    station_numbers: dict[str, int] = {}
    per_province: dict[str, int] = {}
    facilities: dict[str, Entity] = {}
    sites: list[Site] = []
    for index, (fac, outlet, rep) in enumerate(outfalls):
        prov, fac_name, sector, _big = fac
        p = province(prov)
        key = (prov, fac_name)
        if key not in facility_numbers:
            per_province[prov] = per_province.get(prov, 0) + 1
            facility_numbers[key] = f"{prov}-FAC-{per_province[prov]:02d}"
        fac_code = facility_numbers[key]
        low, high = _FLOW_BY_SECTOR[sector]
        flow = int(round((low + (high - low) * u(fac_code, 4)) / 100.0) * 100)
        column = "A" if (u(fac_code, 5) < 0.3 or sector == "municipal_wwtp" and u(fac_code, 5) < 0.6) else "B"
        kq = (0.9, 1.0, 1.1, 1.2)[int(u(fac_code, 6) * 4)]
        if prov in {"QNH", "HPG", "KHA", "GLI", "DNG", "HTH", "QNG"} and u(fac_code, 7) < 0.35:
            kq = 1.3  # discharges to coastal waters
        kf = kf_for_flow(flow)
        limits = {name: round((a if column == "A" else b) * kq * kf, 2)
                  for name, (a, b) in QCVN40_2011.items() if name != "pH"}
        limits["pH_min"], limits["pH_max"] = QCVN40_2011["pH"][0 if column == "A" else 1]
        if fac_code not in facilities:
            lat, lon = place(p, fac_code, spread=0.6, jitter=0.08)
            authority = "BTNMT" if flow >= 10000 or sector in {"steel", "refinery", "pulp_paper"} else "UBND"
            permit = f"{10 + int(u(fac_code, 8) * 890)}/GPMT-{authority}"
            facilities[fac_code] = Entity(
                code=fac_code, kind="facility", name=fac_name, name_en=to_ascii(fac_name), subtype="wastewater",
                province_code=prov, lat=lat, lon=lon,
                meta={
                    "sector": sector,
                    "column": column,
                    "kq": kq,
                    "kf": kf,
                    "flow_m3_day": flow,
                    "permit": permit,
                    "permit_year": 2022 + int(u(fac_code, 9) * 4),
                    "regulation": "QCVN 40:2011/BTNMT",
                    "limits": limits,
                },
            )
        fac_entity = facilities[fac_code]
        station_numbers[prov] = station_numbers.get(prov, 0) + 1
        code = f"{prov}-WW-{station_numbers[prov]:02d}"
        suffix = f" – cửa xả số {outlet}" if outlet > 1 else ""
        suffix += f" (trạm {rep + 1})" if rep else ""
        name = f"Trạm quan trắc nước thải {fac_name}{suffix}"
        lat = round(fac_entity.lat + (u(code, 1) - 0.5) * 0.01, 4)
        lon = round(fac_entity.lon + (u(code, 2) - 0.5) * 0.01, 4)
        # How well the plant treats its water: share of the limit it usually runs at.
        quality = u(code, 3)
        compliance = "good" if quality < 0.6 else ("marginal" if quality < 0.88 else "poor")
        entity = Entity(
            code=code, kind="station", name=name, name_en=f"Wastewater station {to_ascii(fac_name + suffix)}",
            subtype="wastewater", province_code=prov, lat=lat, lon=lon,
            meta={
                "facility": fac_code,
                "outfall": outlet,
                "column": column,
                "kq": kq,
                "kf": kf,
                "flow_m3_day": flow,
                "permit": fac_entity.meta["permit"],
                "regulation": "QCVN 40:2011/BTNMT",
                "limits": limits,
                "parameters": ["pH", "COD", "BOD5", "TSS", "NH4+", "Temp", "Flow"],
            },
        )
        sites.append(Site(entity, prov, {"sector": sector, "compliance": compliance, "flow": flow / (2 if outlet > 1 else 1),
                                         "limits": limits, "index": index}))
    return tuple(facilities.values()), tuple(sites)


# --------------------------------------------------------------------------- emission

# unit, plant, sector, stacks
EMISSION_PLANTS: tuple[tuple[str, str, str, int], ...] = (
    ("QNH", "Nhà máy Nhiệt điện Quảng Ninh", "coal_power", 2),
    ("QNH", "Nhà máy Nhiệt điện Mông Dương 1", "coal_power", 2),
    ("QNH", "Nhà máy Nhiệt điện Cẩm Phả", "coal_power", 1),
    ("QNH", "Nhà máy Nhiệt điện Uông Bí", "coal_power", 1),
    ("QNH", "Nhà máy Xi măng Cẩm Phả", "cement", 1),
    ("HPG", "Nhà máy Nhiệt điện Hải Phòng", "coal_power", 2),
    ("HPG", "Nhà máy Nhiệt điện Phả Lại", "coal_power", 2),
    ("HPG", "Nhà máy Xi măng Vicem Hoàng Thạch", "cement", 1),
    ("HPG", "Nhà máy Xi măng Chinfon", "cement", 1),
    ("HPG", "Khu liên hợp gang thép Hòa Phát Hải Dương", "steel", 1),
    ("HYN", "Nhà máy Nhiệt điện Thái Bình", "coal_power", 1),
    ("HYN", "Nhà máy Nhiệt điện Thái Bình 2", "coal_power", 1),
    ("NBH", "Nhà máy Xi măng Vicem Bút Sơn", "cement", 1),
    ("NBH", "Nhà máy Xi măng Vicem Tam Điệp", "cement", 1),
    ("NBH", "Nhà máy Đạm Ninh Bình", "fertiliser", 1),
    ("THA", "Liên hợp Lọc hóa dầu Nghi Sơn", "refinery", 1),
    ("THA", "Nhà máy Nhiệt điện Nghi Sơn 2", "coal_power", 1),
    ("THA", "Nhà máy Xi măng Vicem Bỉm Sơn", "cement", 1),
    ("THA", "Nhà máy Xi măng Nghi Sơn", "cement", 1),
    ("HTH", "Công ty TNHH Gang thép Hưng Nghiệp Formosa Hà Tĩnh", "steel", 2),
    ("HTH", "Nhà máy Nhiệt điện Vũng Áng 1", "coal_power", 1),
    ("NAN", "Nhà máy Xi măng Vicem Hoàng Mai", "cement", 1),
    ("PTO", "Công ty CP Supe phốt phát và Hóa chất Lâm Thao", "fertiliser", 1),
    ("PTO", "Nhà máy giấy Bãi Bằng – lò hơi", "biomass_boiler", 1),
    ("BNH", "Nhà máy Đạm Hà Bắc", "fertiliser", 1),
    ("TNN", "Công ty CP Gang thép Thái Nguyên", "steel", 1),
    ("TNN", "Nhà máy Nhiệt điện An Khánh", "coal_power", 1),
    ("LSN", "Nhà máy Nhiệt điện Na Dương", "coal_power", 1),
    ("HNI", "Nhà máy điện rác Sóc Sơn", "incinerator", 1),
    ("QNG", "Khu liên hợp gang thép Hòa Phát Dung Quất", "steel", 2),
    ("QNG", "Nhà máy Lọc dầu Dung Quất", "refinery", 1),
    ("KHA", "Nhà máy Nhiệt điện Vân Phong 1", "coal_power", 1),
    ("LDG", "Trung tâm Điện lực Vĩnh Tân – Nhiệt điện Vĩnh Tân 2", "coal_power", 1),
    ("LDG", "Trung tâm Điện lực Vĩnh Tân – Nhiệt điện Vĩnh Tân 4", "coal_power", 1),
    ("HCM", "Nhà máy Đạm Phú Mỹ", "fertiliser", 1),
    ("HCM", "Nhà máy điện rác Đa Phước", "incinerator", 1),
    ("HCM", "Công ty CP Thép Pomina", "steel", 1),
    ("DNI", "Công ty TNHH Vedan Việt Nam – lò hơi", "biomass_boiler", 1),
    ("VLG", "Trung tâm Điện lực Duyên Hải", "coal_power", 2),
    ("CTO", "Nhà máy Nhiệt điện Sông Hậu 1", "coal_power", 1),
    ("CMU", "Nhà máy Đạm Cà Mau", "fertiliser", 1),
    ("AGG", "Nhà máy Xi măng INSEE Hòn Chông", "cement", 1),
    ("GLI", "Nhà máy Đường An Khê – lò hơi", "biomass_boiler", 1),
    ("DNG", "Công ty CP Thép Đà Nẵng", "steel", 1),
)

# sector: dust, SO2, NOx, CO (mg/Nm³), O2 (%), temperature (°C), flow (Nm³/h), regulation, limits
EMISSION_PROFILES: dict[str, dict[str, Any]] = {
    "coal_power": {"Dust": 35, "SO2": 280, "NOx": 430, "CO": 60, "O2": 6.5, "Temp": 135, "Flow": 1.1e6,
                   "regulation": "QCVN 22:2009/BTNMT", "limits": {"Dust": 140, "SO2": 350, "NOx": 455, "CO": 700}},
    "cement": {"Dust": 28, "SO2": 60, "NOx": 620, "CO": 280, "O2": 10.5, "Temp": 120, "Flow": 4.5e5,
               "regulation": "QCVN 23:2009/BTNMT", "limits": {"Dust": 85, "SO2": 425, "NOx": 850, "CO": 425}},
    "steel": {"Dust": 40, "SO2": 170, "NOx": 240, "CO": 550, "O2": 14.0, "Temp": 110, "Flow": 8.0e5,
              "regulation": "QCVN 51:2017/BTNMT", "limits": {"Dust": 100, "SO2": 500, "NOx": 500, "CO": 1000}},
    "fertiliser": {"Dust": 25, "SO2": 110, "NOx": 180, "CO": 80, "O2": 8.0, "Temp": 160, "Flow": 1.5e5,
                   "regulation": "QCVN 19:2009/BTNMT", "limits": {"Dust": 160, "SO2": 400, "NOx": 680, "CO": 800}},
    "refinery": {"Dust": 10, "SO2": 150, "NOx": 150, "CO": 40, "O2": 4.0, "Temp": 180, "Flow": 3.0e5,
                 "regulation": "QCVN 34:2010/BTNMT", "limits": {"Dust": 50, "SO2": 500, "NOx": 500, "CO": 500}},
    "incinerator": {"Dust": 12, "SO2": 40, "NOx": 180, "CO": 30, "O2": 11.0, "Temp": 140, "Flow": 1.2e5,
                    "regulation": "QCVN 61-MT:2016/BTNMT", "limits": {"Dust": 50, "SO2": 250, "NOx": 500, "CO": 250}},
    "biomass_boiler": {"Dust": 60, "SO2": 40, "NOx": 200, "CO": 250, "O2": 9.0, "Temp": 150, "Flow": 1.0e5,
                       "regulation": "QCVN 19:2009/BTNMT", "limits": {"Dust": 160, "SO2": 400, "NOx": 680, "CO": 800}},
}


@lru_cache(maxsize=16)
def emission_sites(count: int | None = None) -> tuple[tuple[Entity, ...], tuple[Site, ...]]:
    """(plant entities, stack station sites); the default count is every stack listed."""
    stacks = [(plant, k) for plant in EMISSION_PLANTS for k in range(1, plant[3] + 1)]
    count = len(stacks) if count is None else count
    chosen = [stacks[i % len(stacks)] + (i // len(stacks),) for i in range(count)]
    plant_codes: dict[tuple[str, str], str] = {}
    per_province: dict[str, int] = {}
    station_numbers: dict[str, int] = {}
    plants: dict[str, Entity] = {}
    sites: list[Site] = []
    for plant, stack_no, rep in chosen:
        prov, plant_name, sector, _ = plant
        p = province(prov)
        profile = EMISSION_PROFILES[sector]
        key = (prov, plant_name)
        if key not in plant_codes:
            per_province[prov] = per_province.get(prov, 0) + 1
            plant_codes[key] = f"{prov}-PLT-{per_province[prov]:02d}"
        plant_code = plant_codes[key]
        if plant_code not in plants:
            lat, lon = place(p, plant_code, spread=0.7, jitter=0.1)
            plants[plant_code] = Entity(
                code=plant_code, kind="facility", name=plant_name, name_en=to_ascii(plant_name), subtype="emission",
                province_code=prov, lat=lat, lon=lon,
                meta={"sector": sector, "regulation": profile["regulation"], "limits": dict(profile["limits"]),
                      "permit": f"{10 + int(u(plant_code, 8) * 890)}/GPMT-BTNMT"},
            )
        station_numbers[prov] = station_numbers.get(prov, 0) + 1
        code = f"{prov}-EM-{station_numbers[prov]:02d}"
        label = f"{plant_name} – ống khói số {stack_no}" + (f" (trạm {rep + 1})" if rep else "")
        plant_entity = plants[plant_code]
        entity = Entity(
            code=code, kind="station", name=f"Trạm quan trắc khí thải {label}",
            name_en=f"Stack emission station {to_ascii(label)}", subtype="emission", province_code=prov,
            lat=round(plant_entity.lat + (u(code, 1) - 0.5) * 0.006, 4),
            lon=round(plant_entity.lon + (u(code, 2) - 0.5) * 0.006, 4),
            meta={"facility": plant_code, "stack": stack_no, "sector": sector, "regulation": profile["regulation"],
                  "limits": dict(profile["limits"]), "reference_o2_pct": 6 if sector == "coal_power" else None,
                  "parameters": ["Dust", "SO2", "NOx", "CO", "O2", "Temp", "Flow"]},
        )
        quality = u(code, 3)
        compliance = "good" if quality < 0.65 else ("marginal" if quality < 0.9 else "poor")
        sites.append(Site(entity, prov, {"sector": sector, "compliance": compliance}))
    return tuple(plants.values()), tuple(sites)


# --------------------------------------------------------------------------- GNSS (VNGEONET)

GNSS_EXTRA: dict[str, int] = {
    "LDG": 2, "GLI": 2, "DLK": 2, "QNG": 2, "NAN": 2, "THA": 2, "SLA": 2, "LCI": 2, "TQG": 2, "HCM": 2, "AGG": 2,
    "DNG": 1, "QTI": 1, "HNI": 1, "CMU": 1, "DNI": 1, "KHA": 1, "CTO": 1, "HPG": 1, "TNH": 1,
}
_RECEIVERS = ("Trimble NetR9", "Leica GR30", "Leica GR50", "Septentrio PolaRx5", "Trimble Alloy")


@lru_cache(maxsize=16)
def gnss_sites(count: int = 65) -> tuple[Site, ...]:
    if count == 65:
        counts = {p.code: 1 + GNSS_EXTRA.get(p.code, 0) for p in all_provinces()}
    else:
        counts = allocate(count, {c: 1 + GNSS_EXTRA.get(c, 0) for c in PLACES})
    sites: list[Site] = []
    for p in all_provinces():
        for i in range(counts[p.code]):
            code = f"{p.code}-GNSS-{i + 1:02d}"
            island = ISLANDS.get(p.code) if i == counts[p.code] - 1 and i > 0 else None
            if island:
                place_name, lat, lon = island[1], island[2], island[3]
            else:
                names = PLACES[p.code]
                place_name = names[i % len(names)]
                lat, lon = place(p, code, spread=0.2 if i == 0 else 1.2, jitter=0.08)
            mount = f"{p.code}{i + 1}"
            sites.append(Site(
                Entity(code=code, kind="gnss_station", name=f"Trạm định vị vệ tinh {place_name}",
                       name_en=f"GNSS reference station {to_ascii(place_name)}", subtype=None, province_code=p.code,
                       lat=lat, lon=lon,
                       meta={"network": "VNGEONET", "mountpoint": mount, "receiver": _RECEIVERS[int(u(code, 4) * 5)],
                             "built_year": 2016 + int(u(code, 5) * 4), "island": bool(island),
                             "control_centre": "Hà Nội"}),
                p.code, {"place": place_name},
            ))
    # 24 geodetic (national base) stations and the rest network-RTK, chosen once by code.
    geodetic_count = round(len(sites) * 24 / 65)
    ranked = sorted(sites, key=lambda s: u(s.code, 6))
    geodetic = {s.code for s in ranked[:geodetic_count]}
    out = []
    for s in sites:
        role = "geodetic" if s.code in geodetic else "network_rtk"
        entity = replace(s.entity, subtype=role, meta={**s.entity.meta, "station_type": role})
        out.append(Site(entity, s.province, s.params))
    return tuple(out)


def gnss_centre() -> Entity:
    hq = province("HNI")
    return Entity(code="VNGEONET-CC", kind="gnss_centre", name="Trung tâm điều hành mạng lưới trạm định vị vệ tinh quốc gia",
                  name_en="VNGEONET control centre", subtype=None, province_code="HNI", lat=21.0245, lon=105.7925,
                  meta={"network": "VNGEONET", "operator": "Cục Đo đạc, Bản đồ và Thông tin địa lý Việt Nam",
                        "seat": hq.seat})


# --------------------------------------------------------------------------- data links

# code, name, name_en, subtype, unit code, typical latency (ms)
LINKS: tuple[tuple[str, str, str, str, str, float], ...] = (
    ("LINK-NCHMF", "Trung tâm Dự báo khí tượng thủy văn quốc gia", "National Centre for Hydro-Meteorological Forecasting", "forecast_centre", "HNI", 6),
    ("LINK-KV-TB", "Đài Khí tượng thủy văn khu vực Tây Bắc", "Northwest Regional Hydro-Meteorological Centre", "forecast_centre", "SLA", 38),
    ("LINK-KV-VB", "Đài Khí tượng thủy văn khu vực Việt Bắc", "Viet Bac Regional Hydro-Meteorological Centre", "forecast_centre", "PTO", 22),
    ("LINK-KV-DB", "Đài Khí tượng thủy văn khu vực Đông Bắc", "Northeast Regional Hydro-Meteorological Centre", "forecast_centre", "HPG", 18),
    ("LINK-KV-DBBB", "Đài Khí tượng thủy văn khu vực Đồng bằng Bắc Bộ", "Northern Delta Regional Hydro-Meteorological Centre", "forecast_centre", "HNI", 8),
    ("LINK-KV-BTB", "Đài Khí tượng thủy văn khu vực Bắc Trung Bộ", "North Central Regional Hydro-Meteorological Centre", "forecast_centre", "NAN", 28),
    ("LINK-KV-TTB", "Đài Khí tượng thủy văn khu vực Trung Trung Bộ", "Mid-Central Regional Hydro-Meteorological Centre", "forecast_centre", "DNG", 35),
    ("LINK-KV-NTB", "Đài Khí tượng thủy văn khu vực Nam Trung Bộ", "South Central Regional Hydro-Meteorological Centre", "forecast_centre", "KHA", 42),
    ("LINK-KV-TN", "Đài Khí tượng thủy văn khu vực Tây Nguyên", "Central Highlands Regional Hydro-Meteorological Centre", "forecast_centre", "GLI", 45),
    ("LINK-KV-NB", "Đài Khí tượng thủy văn khu vực Nam Bộ", "Southern Regional Hydro-Meteorological Centre", "forecast_centre", "HCM", 30),
    ("LINK-RADAR-PL", "Trạm radar thời tiết Phù Liễn", "Phu Lien weather radar", "radar", "HPG", 20),
    ("LINK-RADAR-NB", "Trạm radar thời tiết Nhà Bè", "Nha Be weather radar", "radar", "HCM", 33),
    ("LINK-QTMT-MB", "Trung tâm Quan trắc môi trường miền Bắc", "Northern Environmental Monitoring Centre", "monitoring_centre", "HNI", 7),
    ("LINK-QTMT-MN", "Trung tâm Quan trắc môi trường miền Nam", "Southern Environmental Monitoring Centre", "monitoring_centre", "HCM", 31),
    ("LINK-VBDLIS", "Hệ thống thông tin đất đai quốc gia", "National land information system", "it_system", "HNI", 12),
    ("LINK-DVC", "Cổng dịch vụ công của Bộ", "Ministry online public service portal", "it_system", "HNI", 9),
    ("LINK-BAOCAO", "Hệ thống thông tin báo cáo của Bộ", "Ministry reporting information system", "it_system", "HNI", 10),
    ("LINK-VANBAN", "Hệ thống quản lý văn bản và điều hành", "Document management and operations system", "it_system", "HNI", 8),
    ("LINK-CORS", "Máy chủ phát dữ liệu VNGEONET (NTRIP caster)", "VNGEONET NTRIP caster", "it_system", "HNI", 11),
    ("LINK-CSDL-TNN", "Cơ sở dữ liệu tài nguyên nước quốc gia", "National water resources database", "it_system", "HNI", 14),
)


@lru_cache(maxsize=16)
def link_sites(count: int | None = None) -> tuple[Site, ...]:
    count = len(LINKS) if count is None else count
    sites = []
    for i in range(count):
        code, name, name_en, subtype, prov, latency = LINKS[i % len(LINKS)]
        if i >= len(LINKS):
            code, name, name_en = f"{code}-{i // len(LINKS) + 1}", f"{name} (đường truyền {i // len(LINKS) + 1})", f"{name_en} (link {i // len(LINKS) + 1})"
        p = province(prov)
        sites.append(Site(
            Entity(code=code, kind="data_link", name=name, name_en=name_en, subtype=subtype, province_code=prov,
                   lat=round(p.seat_lat, 4), lon=round(p.seat_lon, 4),
                   meta={"endpoint": f"{code.lower()}.mae.gov.vn", "expected_interval_s": 300}),
            prov, {"latency": latency},
        ))
    return tuple(sites)


# --------------------------------------------------------------------------- reporting

# code, name, unit, reporters ("provinces" or ministry unit code), connected, magnitude, decimals
REPORT_INDICATORS: tuple[tuple[str, str, str, str, bool, float, int], ...] = (
    ("BC01", "Kết quả thực hiện bảo vệ môi trường địa phương", "%", "provinces", True, 82, 1),
    ("BC02", "Quy hoạch sử dụng đất quốc gia – tiến độ thực hiện chỉ tiêu", "%", "provinces", True, 48, 1),
    ("BC03", "Cấp phép tài nguyên nước", "giấy phép", "provinces", True, 9, 0),
    ("BC04", "Tỷ lệ chất thải rắn sinh hoạt đô thị được thu gom, xử lý", "%", "provinces", False, 93, 1),
    ("BC05", "Tỷ lệ khu công nghiệp có hệ thống xử lý nước thải tập trung đạt quy chuẩn", "%", "provinces", False, 91, 1),
    ("BC06", "Tỷ lệ che phủ rừng", "%", "provinces", False, 42, 1),
    ("BC07", "Diện tích đất được cấp giấy chứng nhận lần đầu", "ha", "provinces", False, 350, 1),
    ("BC08", "Số giấy chứng nhận quyền sử dụng đất được cấp", "giấy", "provinces", False, 2400, 0),
    ("BC09", "Tỷ lệ dân số nông thôn được sử dụng nước sạch đạt quy chuẩn", "%", "provinces", False, 58, 1),
    ("BC10", "Số xã đạt chuẩn nông thôn mới", "xã", "provinces", False, 60, 0),
    ("BC11", "Sản lượng lương thực có hạt", "nghìn tấn", "provinces", False, 95, 1),
    ("BC12", "Diện tích rừng trồng mới tập trung", "ha", "provinces", False, 650, 0),
    ("BC13", "Giá trị sản xuất nông, lâm nghiệp và thủy sản", "tỷ đồng", "MAE-KHTC", False, 95000, 0),
    ("BC14", "Kim ngạch xuất khẩu nông, lâm, thủy sản", "triệu USD", "MAE-KHTC", False, 5800, 0),
    ("BC15", "Tốc độ tăng giá trị sản xuất nông nghiệp", "%", "MAE-KHTC", False, 3.4, 2),
    ("BC16", "Sản lượng thủy sản", "nghìn tấn", "MAE-TS", False, 780, 1),
    ("BC17", "Số vụ vi phạm pháp luật về bảo vệ môi trường bị xử lý", "vụ", "MAE-TTR", False, 140, 0),
    ("BC18", "Số trạm quan trắc tự động truyền dữ liệu về Bộ", "trạm", "MAE-MT", False, 1650, 0),
    ("BC19", "Số ngày có VN_AQI ở mức kém trở lên tại các đô thị loại đặc biệt", "ngày", "MAE-MT", False, 6, 0),
    ("BC20", "Số bản tin dự báo, cảnh báo khí tượng thủy văn đã phát hành", "bản tin", "MAE-KTTV", False, 5200, 0),
    ("BC21", "Số giấy phép thăm dò, khai thác khoáng sản được cấp", "giấy phép", "MAE-DCKS", False, 22, 0),
    ("BC22", "Thu ngân sách từ đất đai, tài nguyên", "tỷ đồng", "MAE-KHTC", False, 21000, 0),
    ("BC23", "Tỷ lệ hồ sơ thủ tục hành chính giải quyết đúng hạn", "%", "MAE-VP", False, 96, 1),
    ("BC24", "Tỷ lệ hồ sơ thủ tục hành chính xử lý trực tuyến toàn trình", "%", "MAE-CDS", False, 62, 1),
    ("BC25", "Diện tích đất trồng lúa được bảo vệ", "nghìn ha", "MAE-TT", False, 3520, 0),
    ("BC26", "Số ổ dịch bệnh động vật phát sinh", "ổ dịch", "MAE-CNTY", False, 45, 0),
    ("BC27", "Diện tích rừng bị thiệt hại do cháy, chặt phá", "ha", "MAE-LN", False, 120, 1),
    ("BC28", "Thiệt hại do thiên tai", "tỷ đồng", "MAE-DD", False, 900, 0),
    ("BC29", "Dung tích trữ nước các hồ chứa thủy lợi", "% thiết kế", "MAE-TL", False, 68, 1),
    ("BC30", "Số cơ sở thực hiện kiểm kê khí nhà kính", "cơ sở", "MAE-BDKH", False, 1900, 0),
    ("BC31", "Diện tích khu bảo tồn biển được thiết lập", "ha", "MAE-BHD", False, 190000, 0),
    ("BC32", "Số khu bảo tồn thiên nhiên có kế hoạch quản lý được phê duyệt", "khu", "MAE-BTTN", False, 120, 0),
)
REPORT_DEADLINE_DAY = 10  # a month's report is due on the 10th of the next month, 17:00 local


@dataclass(frozen=True)
class Submission:
    entity: Entity
    indicator: str
    reporter: str
    magnitude: float
    decimals: int
    reliability: str  # reliable / sometimes_late / chronic


@lru_cache(maxsize=2)
def report_catalogue() -> tuple[tuple[Entity, ...], tuple[Submission, ...]]:
    """(indicator entities, one submission entity per indicator × reporting unit)."""
    units = {code: (name, scale) for code, name, _en, scale in MINISTRY_UNITS}
    indicators, submissions = [], []
    for code, name, unit, reporters, connected, magnitude, decimals in REPORT_INDICATORS:
        reporter_codes = [p.code for p in all_provinces()] if reporters == "provinces" else [reporters]
        indicators.append(Entity(
            code=code, kind="report_indicator", name=name, name_en=None, subtype="connected" if connected else "standard",
            province_code=None, lat=None, lon=None,
            meta={"unit": unit, "frequency": "monthly", "connected": connected, "reporters": reporter_codes,
                  "reporter_kind": "province" if reporters == "provinces" else "unit",
                  "owner": "MAE-VP" if reporters == "provinces" else reporters,
                  "deadline_day": REPORT_DEADLINE_DAY, "decree": "Quyết định 293/QĐ-TTg"},
        ))
        for reporter in reporter_codes:
            if reporter in units:
                reporter_name, scale = units[reporter][0], 1.0
                prov = None
            else:
                p = province(reporter)
                reporter_name, prov = p.name, p.code
                percentage = unit.startswith("%")
                scale = 1.0 if percentage else SIZE_WEIGHT[reporter] / 3.0
            r = u(f"reliability-{reporter}")
            reliability = "reliable" if r < 0.6 else ("sometimes_late" if r < 0.9 else "chronic")
            sub_code = f"{code}-{reporter}"
            submissions.append(Submission(
                Entity(code=sub_code, kind="report_submission", name=f"{name} – {reporter_name}", name_en=None,
                       subtype="province" if prov else "unit", province_code=prov, lat=None, lon=None,
                       meta={"indicator": code, "reporter": reporter, "unit": unit, "connected": connected,
                             "frequency": "monthly", "deadline_day": REPORT_DEADLINE_DAY}),
                code, reporter, magnitude * scale, decimals, reliability,
            ))
    return tuple(indicators), tuple(submissions)
