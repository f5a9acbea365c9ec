"""The Briefings page's grid: one row per archived briefing with a download link."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import dash_ag_grid as dag

from briefings.archive import BriefingRecord
from components.grids import paged_options
from components.links import md_escape
from components.status import STATUS_COLOURS
from i18n import format_number, format_time, t

# A briefing's status in the sources' traffic-light colours (always with the words).
_STATUS_CLASS = {"ok": "ok", "failed": "failing", "running": "pending"}


def _size(size: int | None, lang: str) -> str:
    if size is None:
        return "—"
    if size >= 1_000_000:
        return f"{format_number(size / 1_000_000, lang, 1)} MB"
    return f"{format_number(size / 1000, lang, 0)} kB"


def briefing_rows(records: list[BriefingRecord], tz: ZoneInfo, lang: str) -> list[dict[str, Any]]:
    """Grid rows, newest first as given; a Markdown download link for the ones with a file."""
    return [
        {
            "id": r.id,
            "created": format_time(r.created_at, tz, lang),
            "day": r.day.strftime("%d/%m/%Y"),
            "kind": t(f"briefing.kind.{r.kind}", lang),
            "format": r.format.upper(),
            "size": _size(r.size_bytes, lang),
            "status": _STATUS_CLASS.get(r.status, "pending"),
            "status_text": t(f"briefing.status.{r.status}", lang),
            # Markdown, not HTML: AG Grid renders it as a link without trusting any text as markup.
            "download": (f"[{md_escape(r.download_name(tz))}](/api/v1/briefings/{r.id}/download)"
                         if r.status == "ok" else ""),
            "error": r.error or "",
        }
        for r in records
    ]


def briefings_grid(grid_id: str, lang: str) -> dag.AgGrid:
    status_rules = {f"status-cell status-{k}": f"params.data.status == '{k}'" for k in STATUS_COLOURS}
    columns = [
        {"field": "created", "headerName": t("briefing.col.created", lang), "width": 170},
        {"field": "day", "headerName": t("briefing.col.day", lang), "width": 120},
        {"field": "kind", "headerName": t("briefing.col.kind", lang), "width": 140},
        {"field": "format", "headerName": t("briefing.col.format", lang), "width": 110},
        {"field": "size", "headerName": t("briefing.col.size", lang), "width": 120, "type": "rightAligned"},
        {"field": "status_text", "headerName": t("briefing.col.status", lang), "width": 130,
         "cellClassRules": status_rules},
        {"field": "download", "headerName": t("briefing.col.download", lang), "flex": 1, "minWidth": 260,
         "cellRenderer": "markdown", "linkTarget": "_self"},
        {"field": "error", "headerName": t("sources.col.error", lang), "flex": 1, "minWidth": 200,
         "wrapText": True, "autoHeight": True},
    ]
    return dag.AgGrid(
        id=grid_id, columnDefs=columns, rowData=[], getRowId="params.data.id",
        defaultColDef={"resizable": True, "sortable": True},
        dashGridOptions=paged_options(lang, t("briefing.empty", lang), 25),
        style={"width": "100%"},
    )
