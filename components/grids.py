"""What the app's AG Grids share: paging with texts in the reader's language, and cells
coloured by an index's official category (with the category in words beside it)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from i18n import t


def paged_options(lang: str, empty_text: str, page_size: int) -> dict[str, Any]:
    """``dashGridOptions`` of a grid that grows with its rows and pages after ``page_size``."""
    return {
        "domLayout": "autoHeight", "animateRows": False, "pagination": True, "paginationPageSize": page_size,
        "paginationPageSizeSelector": False,
        # Plain strings (AG Grid blocks HTML overlay templates): the empty state and pager in the reader's language.
        "localeText": {"noRowsToShow": empty_text, "page": t("grid.page", lang), "of": t("grid.of", lang), "to": "–"},
    }


def category_style(field: str, colours: Iterable[tuple[str, str]], dark_text: set[str]) -> dict[str, Any]:
    """A ``cellStyle`` colouring a cell by the row's ``field`` (a category key → colour)."""
    return {"styleConditions": [
        {"condition": f"params.data.{field} == '{key}'",
         "style": {"backgroundColor": colour, "color": "#000" if key in dark_text else "#fff", "fontWeight": "700"}}
        for key, colour in colours
    ]}
