"""The Sources grid (dash-ag-grid): one row per source, status cell coloured with text."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import dash_ag_grid as dag

from components.grids import grid_options
from components.status import STATUS_COLOURS
from i18n import format_number, format_time, t
from queries.sources import SourceStatus


def source_rows(statuses: list[SourceStatus], tz: ZoneInfo, lang: str) -> list[dict[str, Any]]:
    """Grid rows: times already formatted for the reader's locale and zone."""
    return [
        {
            "name": s.name,
            "status": s.status,
            "status_text": t(f"status.{s.status}", lang),
            "kind": s.kind,
            "schedule": s.schedule,
            "last_run": format_time(s.last_run_at, tz, lang),
            "last_success": format_time(s.last_success_at, tz, lang),
            "next_run": format_time(s.next_run_at, tz, lang),
            "rows": s.rows_accepted,
            "rejected": s.rows_rejected,
            "duration": format_number(s.duration_seconds, lang, 2, fixed=True),
            "error": s.last_error or "",
        }
        for s in statuses
    ]


def sources_grid(grid_id: str, lang: str) -> dag.AgGrid:
    status_rules = {f"status-cell status-{k}": f"params.data.status == '{k}'" for k in STATUS_COLOURS}
    columns = [
        {"field": "status_text", "headerName": t("sources.col.status", lang), "cellClassRules": status_rules, "width": 130, "pinned": "left"},
        {"field": "name", "headerName": t("sources.col.name", lang), "width": 190, "pinned": "left"},
        {"field": "kind", "headerName": t("sources.col.kind", lang), "width": 95},
        {"field": "schedule", "headerName": t("sources.col.schedule", lang), "width": 120},
        {"field": "last_run", "headerName": t("sources.col.last_run", lang), "width": 150},
        {"field": "last_success", "headerName": t("sources.col.last_success", lang), "width": 170},
        {"field": "next_run", "headerName": t("sources.col.next_run", lang), "width": 150},
        {"field": "rows", "headerName": t("sources.col.rows", lang), "width": 90, "type": "rightAligned"},
        {"field": "rejected", "headerName": t("sources.col.rejected", lang), "width": 80, "type": "rightAligned"},
        {"field": "duration", "headerName": t("sources.col.duration", lang), "width": 115, "type": "rightAligned"},
        # The error is what an operator needs most: it wraps instead of being cut off.
        {"field": "error", "headerName": t("sources.col.error", lang), "flex": 1, "minWidth": 240,
         "wrapText": True, "autoHeight": True, "cellStyle": {"lineHeight": "1.4", "paddingTop": "6px", "paddingBottom": "6px"}},
    ]
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        rowData=[],
        # Rows keep their identity across refreshes, so AG Grid updates cells in place.
        getRowId="params.data.name",
        defaultColDef={"resizable": True, "sortable": True},
        dashGridOptions=grid_options(domLayout="autoHeight", animateRows=False, tooltipShowDelay=300),
        style={"width": "100%"},
    )
