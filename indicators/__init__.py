"""Indicators computed from stored observations: air and water quality indices, ...

* :mod:`indicators.aqi` — VN_AQI, Vietnam's air quality index (Decision 1459/QĐ-TCMT):
  sub-indices, NowCast, hourly and daily AQI for one station or many at once
  (numpy/pandas), categories and official colours, the province value.
* :mod:`indicators.wqi` — VN_WQI, the surface-water quality index (Decision
  1460/QĐ-TCMT): per-parameter sub-indices, group aggregation, bands and colours.

Pure functions with no I/O: callers read the hourly means / samples from the store
and pass them in. This package imports nothing by itself; import the submodule you
need (``from indicators import aqi``).
"""
