"""Wall panel of hydro-meteorological warnings (CAP feeds, data_sources/cap.py): what is in
force now, by level and area."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from components.panels import PanelContext, PanelData, PanelKind, register, wall_table
from i18n import format_time, t
from queries.cached import warnings_snapshot
from reference.provinces import province

# CAP severity levels (4 Extreme … 0 Unknown): background colour, black text on light ones.
LEVEL_COLOURS = {4: ("#7e0023", "#fff"), 3: ("#e53e3e", "#fff"), 2: ("#dd6b20", "#fff"), 1: ("#ecc94b", "#000"),
                 0: ("#4a5568", "#fff")}


class WarningOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = Field(default=6, ge=2, le=30, description="how many warnings the list shows")


@register
class WarningsPanel(PanelKind):
    """Warnings in force, most severe first: level in words, headline, provinces, until when."""

    name = "warnings"
    title_key = "warning.title"
    Options = WarningOptions

    def data(self, options: WarningOptions, ctx: PanelContext) -> PanelData:
        found = warnings_snapshot()
        rows = []
        for w in found[: options.rows]:
            background, colour = LEVEL_COLOURS.get(w.level, LEVEL_COLOURS[0])
            rows.append({
                "level": t(f"warning.level.{w.level}", ctx.lang),
                "headline": (w.headline_en if ctx.lang == "en" and w.headline_en else w.headline),
                "areas": ", ".join(province(code).name for code in w.provinces) or ", ".join(
                    a.get("areaDesc", "") for a in w.areas),
                "until": format_time(w.expires, ctx.tz, ctx.lang, "HH:mm dd/MM") if w.expires else "–",
                "_style_level": {"backgroundColor": background, "color": colour, "fontWeight": "700"},
            })
        columns = [("level", t("warning.col.level", ctx.lang)), ("headline", t("warning.col.headline", ctx.lang)),
                   ("areas", t("warning.col.areas", ctx.lang)), ("until", t("warning.col.until", ctx.lang))]
        table = wall_table(columns, rows, options.rows, t("warning.none", ctx.lang))
        # The list is as current as this query; a feed that stops is shown by the sources panel.
        return PanelData([table], ctx.now, None)
