"""The province tile map: every province a tile, the archipelagos always drawn."""
from __future__ import annotations

from components.tile_map import NO_DATA, Tile, tile_map
from reference.provinces import all_provinces


def test_every_province_has_a_tile_and_the_archipelagos_are_drawn() -> None:
    figure = tile_map({"HNI": Tile("#FF0000", "192"), "HPG": Tile("#FFFF00", "64", dark_text=True)}, "không có số liệu")
    filled = [s.fillcolor for s in figure.layout.shapes if s.fillcolor != "rgba(0,0,0,0)"]
    assert len(filled) == len(all_provinces()) == 34
    assert filled.count(NO_DATA) == 32 and "#FF0000" in filled
    texts = [a.text for a in figure.layout.annotations]
    assert "Quần đảo<br>Hoàng Sa" in texts and "Quần đảo<br>Trường Sa" in texts
    assert "<b>192</b>" in texts and texts.count("<b>–</b>") == 32  # the words only on hover: they do not fit a tile
    assert sum("không có số liệu" in h for h in figure.data[0].text) == 32
    hover = list(figure.data[0].text)
    assert "Hà Nội: 192" in hover
