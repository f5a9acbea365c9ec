"""Message catalogue and vi-VN / en formatting of numbers and times.

Every visible string comes from :data:`MESSAGES` by key; Vietnamese first. Numbers and
dates are formatted with babel so vi-VN reads 1.234,5 and 22/11/2026 07:00.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal

LOCALES = {"vi": "vi_VN", "en": "en_GB"}

MESSAGES: dict[str, dict[str, str]] = {
    "vi": {
        "app.title": "Trung tâm điều hành",
        "nav.overview": "Tổng quan",
        "nav.sources": "Nguồn dữ liệu",
        "nav.environment": "Môi trường",
        "overview.title": "Tổng quan vận hành",
        "environment.title": "Chất lượng không khí hiện tại",
        "aqi.worst_now": "10 trạm có chỉ số AQI cao nhất",
        "aqi.by_province": "AQI theo tỉnh, thành phố (trạm cao nhất)",
        "aqi.map": "Bản đồ AQI theo tỉnh, thành phố",
        "map.no_data": "không có số liệu",
        "aqi.col.category": "Mức",
        "aqi.col.station": "Trạm",
        "aqi.col.province": "Tỉnh, thành phố",
        "aqi.col.dominant": "Chất chính",
        "aqi.col.hour": "Giờ",
        "exceedance.title": "Vượt quy chuẩn trong 24 giờ qua",
        "exceedance.none": "Không có giá trị vượt quy chuẩn trong 24 giờ qua.",
        "exceedance.col.site": "Cơ sở / trạm",
        "exceedance.col.type": "Loại",
        "exceedance.col.metrics": "Thông số",
        "exceedance.col.count": "Số lần",
        "exceedance.col.worst": "Cao nhất",
        "exceedance.col.last": "Lần gần nhất",
        "exceedance.col.basis": "Căn cứ",
        "exceedance.basis.permit": "Giấy phép",
        "exceedance.basis.regulation": "Quy chuẩn",
        "station.type.air": "Không khí",
        "station.type.wastewater": "Nước thải",
        "completeness.title": "Tỉ lệ dữ liệu nhận được hôm nay theo tỉnh",
        "grid.page": "Trang",
        "station.not_found": "Không có trạm {code}",
        "station.online": "Đang hoạt động",
        "station.offline": "Mất kết nối",
        "station.last_valid": "số liệu hợp lệ gần nhất {time}",
        "station.shaded": "hiệu chuẩn / lỗi thiết bị",
        "station.type.water": "Nước mặt",
        "station.type.emission": "Khí thải",
        "range.24h": "24 giờ",
        "range.48h": "48 giờ",
        "range.7d": "7 ngày",
        "grid.of": "/",
        "sources.title": "Nguồn dữ liệu và tình trạng hệ thống",
        "sources.col.status": "Trạng thái",
        "sources.col.name": "Nguồn",
        "sources.col.kind": "Loại",
        "sources.col.schedule": "Lịch",
        "sources.col.last_run": "Lần lấy gần nhất",
        "sources.col.last_success": "Thành công gần nhất",
        "sources.col.next_run": "Lần lấy tiếp theo",
        "sources.col.rows": "Bản ghi",
        "sources.col.rejected": "Bị loại",
        "sources.col.duration": "Thời gian (s)",
        "sources.col.error": "Lỗi gần nhất",
        "status.ok": "Bình thường",
        "status.stale": "Dữ liệu cũ",
        "status.failing": "Lỗi",
        "status.pending": "Chưa lấy",
        "status.disabled": "Tắt",
        "status.degraded": "Suy giảm",
        "status.down": "Ngừng",
        "health.database": "Cơ sở dữ liệu",
        "health.scheduler": "Bộ lập lịch",
        "health.db_ok": "kết nối tốt",
        "health.db_down": "không kết nối được",
        "health.heartbeat": "nhịp gần nhất {age} trước",
        "health.no_scheduler": "không chạy",
        "health.counts": "{ok} bình thường · {stale} dữ liệu cũ · {failing} lỗi · {pending} chưa lấy",
        "data.as_of": "dữ liệu lúc {time}",
    },
    "en": {
        "app.title": "Operations centre",
        "nav.overview": "Overview",
        "nav.sources": "Sources",
        "nav.environment": "Environment",
        "overview.title": "Operations overview",
        "environment.title": "Air quality now",
        "aqi.worst_now": "The 10 stations with the highest AQI",
        "aqi.by_province": "AQI by province (worst station)",
        "aqi.map": "AQI map by province",
        "map.no_data": "no data",
        "aqi.col.category": "Level",
        "aqi.col.station": "Station",
        "aqi.col.province": "Province",
        "aqi.col.dominant": "Main pollutant",
        "aqi.col.hour": "Hour",
        "exceedance.title": "Limit exceedances in the last 24 hours",
        "exceedance.none": "No exceedance in the last 24 hours.",
        "exceedance.col.site": "Facility / station",
        "exceedance.col.type": "Type",
        "exceedance.col.metrics": "Parameters",
        "exceedance.col.count": "Times",
        "exceedance.col.worst": "Worst",
        "exceedance.col.last": "Latest",
        "exceedance.col.basis": "Basis",
        "exceedance.basis.permit": "Permit",
        "exceedance.basis.regulation": "Regulation",
        "station.type.air": "Air",
        "station.type.wastewater": "Wastewater",
        "completeness.title": "Data received today by province",
        "grid.page": "Page",
        "station.not_found": "No station {code}",
        "station.online": "Online",
        "station.offline": "Offline",
        "station.last_valid": "last valid reading {time}",
        "station.shaded": "calibration / device fault",
        "station.type.water": "Surface water",
        "station.type.emission": "Stack emission",
        "range.24h": "24 hours",
        "range.48h": "48 hours",
        "range.7d": "7 days",
        "grid.of": "of",
        "sources.title": "Data sources and system health",
        "sources.col.status": "Status",
        "sources.col.name": "Source",
        "sources.col.kind": "Kind",
        "sources.col.schedule": "Schedule",
        "sources.col.last_run": "Last poll",
        "sources.col.last_success": "Last success",
        "sources.col.next_run": "Next poll",
        "sources.col.rows": "Rows",
        "sources.col.rejected": "Rejected",
        "sources.col.duration": "Duration (s)",
        "sources.col.error": "Last error",
        "status.ok": "OK",
        "status.stale": "Stale",
        "status.failing": "Failing",
        "status.pending": "Not polled yet",
        "status.disabled": "Disabled",
        "status.degraded": "Degraded",
        "status.down": "Down",
        "health.database": "Database",
        "health.scheduler": "Scheduler",
        "health.db_ok": "reachable",
        "health.db_down": "unreachable",
        "health.heartbeat": "last heartbeat {age} ago",
        "health.no_scheduler": "not running",
        "health.counts": "{ok} ok · {stale} stale · {failing} failing · {pending} not polled yet",
        "data.as_of": "data as of {time}",
    },
}


def t(key: str, lang: str = "vi", **values: object) -> str:
    """The message ``key`` in ``lang`` (falling back to Vietnamese), with ``values`` filled in."""
    text = MESSAGES.get(lang, {}).get(key) or MESSAGES["vi"][key]
    return text.format(**values) if values else text


def format_time(value: datetime | None, tz: ZoneInfo, lang: str = "vi") -> str:
    """22/11/2026 07:00 in the operations centre's time zone; '—' for no time."""
    if value is None:
        return "—"
    return format_datetime(value.astimezone(tz), "dd/MM/yyyy HH:mm", locale=LOCALES[lang])


def format_number(value: float | None, lang: str = "vi", digits: int = 1, fixed: bool = False) -> str:
    """1.234,5 in vi, 1,234.5 in en; ``fixed`` keeps trailing zeros (0,50)."""
    if value is None:
        return "—"
    decimals = ("0" if fixed else "#") * digits
    return format_decimal(round(value, digits), format=f"#,##0.{decimals}" if digits else "#,##0", locale=LOCALES[lang])


def format_age(age: timedelta, lang: str = "vi") -> str:
    return format_timedelta(age, threshold=1.5, locale=LOCALES[lang])
