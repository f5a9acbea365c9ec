"""Shared look of figures: the served fonts (assets/0-fonts.css) and the dark theme's colours."""
from __future__ import annotations

# The served fonts carry every Vietnamese glyph; the fallbacks are for a browser that blocks fonts.
FONT_FAMILY = "Ops Sans, DejaVu Sans, Noto Sans, sans-serif"
WALL_FONT_FAMILY = "Ops Sans Condensed, Ops Sans, DejaVu Sans Condensed, sans-serif"
