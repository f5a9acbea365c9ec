"""Source adapters: one module per kind of source, plus the registry.

Importing this package registers the built-in kinds.
"""
from data_sources import http_json  # noqa: E402,F401
from data_sources import sql_query  # noqa: E402,F401
from data_sources import files  # noqa: E402,F401
from data_sources import demo  # noqa: E402,F401
from data_sources import station_files  # noqa: E402,F401
from data_sources import cap  # noqa: E402,F401
from data_sources import ntrip  # noqa: E402,F401
