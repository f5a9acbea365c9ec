"""Links inside AG Grid cells, written as Markdown so a name from a source is never trusted as markup."""
from __future__ import annotations


def md_escape(text: str) -> str:
    """``text`` with every Markdown control character escaped."""
    return "".join(f"\\{c}" if c in "\\`*_{}[]()#+-.!<>|" else c for c in text)


def station_link(name: str, code: str) -> str:
    """A Markdown link to the station page."""
    return f"[{md_escape(name)}](/station/{code})"
