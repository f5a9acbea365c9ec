"""What the app's AG Grids share: paging with texts in the reader's language, and cells
coloured by an index's official category (with the category in words beside it)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from i18n import t

# The app's dark palette (assets/app.css) through AG Grid's Theming API: since AG Grid 33 the
# legacy ag-theme-* classes no longer style the grid, so grids came out light on the dark page.
DARK_THEME = {"function": (
    "themeAlpine.withParams({backgroundColor: '#18222e', foregroundColor: '#e8eef5', "
    "headerBackgroundColor: '#202c3a', oddRowBackgroundColor: '#1c2733', accentColor: '#3ba4f7', "
    "borderColor: '#2d3b4c', browserColorScheme: 'dark', "
    "fontFamily: ['Ops Sans', 'DejaVu Sans', 'sans-serif']})")}


def grid_options(**options: Any) -> dict[str, Any]:
    """``dashGridOptions`` in the app's dark theme, plus ``options``."""
    return {"theme": DARK_THEME, **options}


def paged_options(lang: str, empty_text: str, page_size: int) -> dict[str, Any]:
    """``dashGridOptions`` of a grid that grows with its rows and pages after ``page_size``."""
    return {
        "theme": DARK_THEME,
        "domLayout": "autoHeight", "animateRows": False, "pagination": True, "paginationPageSize": page_size,
        "paginationPageSizeSelector": False,
        # Plain strings (AG Grid blocks HTML overlay templates): the empty state and pager in the reader's language.
        "localeText": {"noRowsToShow": empty_text, "page": t("grid.page", lang), "of": t("grid.of", lang), "to": "–"},
    }


def epoch(value: datetime | None) -> float | None:
    """A row's time as epoch seconds, for a :func:`time_column` to sort on."""
    return None if value is None else value.timestamp()


def time_column(field: str, header: str, width: int) -> dict[str, Any]:
    """A time column sorted by its epoch (``<field>_ts``) and shown as formatted text (``<field>``)."""
    return {"field": f"{field}_ts", "headerName": header, "width": width,
            "valueFormatter": {"function": f"params.data.{field}"}}


def category_style(field: str, colours: Iterable[tuple[str, str]], dark_text: set[str]) -> dict[str, Any]:
    """A ``cellStyle`` colouring a cell by the row's ``field`` (a category key → colour)."""
    return {"styleConditions": [
        {"condition": f"params.data.{field} == '{key}'",
         "style": {"backgroundColor": colour, "color": "#000" if key in dark_text else "#fff", "fontWeight": "700"}}
        for key, colour in colours
    ]}
