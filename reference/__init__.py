"""Reference data that does not come from a source: administrative units and the like.

Pure, immutable tables and lookups; no I/O, no store. See :mod:`reference.provinces`.
"""
from reference.provinces import (
    ARCHIPELAGOS,
    GRID_COLS,
    GRID_ROWS,
    OLD_TO_NEW,
    Archipelago,
    Province,
    all_provinces,
    find_province,
    new_code_for_old,
    province,
    province_codes,
)

__all__ = [
    "ARCHIPELAGOS",
    "GRID_COLS",
    "GRID_ROWS",
    "OLD_TO_NEW",
    "Archipelago",
    "Province",
    "all_provinces",
    "find_province",
    "new_code_for_old",
    "province",
    "province_codes",
]
