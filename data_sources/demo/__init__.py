"""The built-in demo simulator (source kind ``demo``): the ministry's world, reproducibly.

Every value is a pure function of (seed, entity, metric, timestamp): hashes of those
coordinates drive smooth noise, daily and seasonal cycles and episodes (pollution
events, outages, calibrations). Re-polling a window gives identical rows, so ingest
stays idempotent, and a backfill and live polls agree point for point.

Options (``options:`` of a source in the sources file)::

    feed: air                # which feed (below); one source per feed
    seed: 2025               # another seed, another (equally plausible) world
    interval: 300            # station feeds only: seconds between records
    stations: 80             # station feeds only: how many stations/links
    backfill_days: 1         # how far back the first poll reaches
    max_points_per_poll: 500000   # a poll after a long stop catches up in slices

How polls work: a point stamped ``ts`` is *published* at ``ts`` (station records) or
when its period ends (daily figures, stamped 00:00 local of their day) or when it is
submitted (monthly reports). A poll returns everything published in
``(last_observation_at, now]`` — or in the backfill window on the first poll — and
declares all of the feed's entities in ``Batch.entities``. :meth:`DemoAdapter.window`
and :func:`backfill` give any window, for a CLI that backfills days in chunks.

Entity codes: ``<PROVINCE>-AIR-NN``, ``-SW-NN`` (surface water), ``-WW-NN``
(wastewater outfall), ``-EM-NN`` (stack), ``-FAC-NN`` / ``-PLT-NN`` (facilities),
``-GNSS-NN``; provinces by their code (``HNI``, see :mod:`reference.provinces`);
ministry units ``MAE-...``; data links ``LINK-...``; report indicators ``BC01``..
``BC32`` and submissions ``BC01-HNI``. Times are UTC epoch seconds in the frame.

Feeds
-----

``air`` (every 5 min; 80 stations, kind ``station`` / subtype ``air``)
    ``PM2.5 PM10 NO2 SO2 CO O3`` in µg/m³ (CO too, ~500–5,000), ``Temp`` °C, ``RH`` %.
    Traffic peaks morning and evening (NO2, CO), afternoon O3, night-time PM build-up,
    the northern winter haze (Hà Nội and the Red River delta exceed the 50 µg/m³
    24-hour PM2.5 limit on many winter days), multi-day weather swings, multi-hour
    pollution episodes (hourly AQI > 150), industrial SO2 plumes. Sites typed
    urban / traffic / industrial / background in ``meta.site_type``.
``water`` (every 15 min; 46 stations, subtype ``surface_water``)
    ``pH DO Temp BOD5 COD TOC N-NH4 N-NO3 N-NO2 P-PO4 Coliform Turbidity TSS``
    (mg/L; Coliform MPN/100mL; Turbidity NTU). Clean to heavily polluted water bodies
    (Sông Nhuệ, Tô Lịch, Nhiêu Lộc – Thị Nghè ...; ``meta.quality_class``), pollution
    incidents (BOD/NH4 up, DO down), storm run-off in the rainy season.
``wastewater`` (every 5 min; 117 outfalls of 103 facilities)
    ``pH COD BOD5 TSS NH4+`` (mg/L), ``Temp`` °C, ``Flow`` m³/h. Facilities (kind
    ``facility``, subtype ``wastewater``) carry ``column`` (A/B), ``kq``, ``kf``,
    ``flow_m3_day``, ``permit`` and the resulting ``limits`` (QCVN 40:2011 × Kq × Kf),
    repeated on each outfall station with ``meta.facility``. Treatment upsets push
    some facilities over their limits for hours; poor performers more often.
``emission`` (every 5 min; 51 stacks of 44 plants)
    ``Dust SO2 NOx CO`` (mg/Nm³), ``O2`` %, ``Temp`` °C, ``Flow`` Nm³/h; plants (kind
    ``facility``, subtype ``emission``) with sector, regulation and limits. Load
    following at power plants, shutdowns of days, filter and desulphurisation failures.
``gnss`` (``up`` hourly, ``availability_pct`` daily)
    65 VNGEONET stations (kind ``gnss_station``, subtype/``meta.station_type``
    ``geodetic`` ×24 or ``network_rtk`` ×41), a few down at times, some for days;
    ``users_connected`` hourly on the Hà Nội control centre (``VNGEONET-CC``).
``reporting`` (monthly)
    32 indicators (kind ``report_indicator``; BC01–BC03 are the three connected
    indicators, ``meta.connected``) × reporters (the 34 provinces for BC01–BC12, one
    ministry unit each for the others) as kind ``report_submission``. Metrics
    ``submitted``, ``on_time``, ``days_late``, ``submitted_at``, ``value``; due on the
    10th of the next month; some late, some never (no rows → missing).
``land`` (daily per province)
    ``cadastral_digitised_pct cadastral_online_pct certificates_issued
    price_tables_updated land_use_plan_progress_pct lookup_requests lookup_failures``.
``water_resources`` (daily per province)
    ``permits_issued permits_in_process permits_expiring_90d permits_expired
    extraction_m3 permitted_m3``.
``public_services`` (daily per province and per ministry unit, kind ``unit``)
    ``applications_received applications_resolved resolved_on_time overdue
    fully_online_pct documents_incoming documents_on_time documents_overdue
    tasks_assigned tasks_on_time tasks_overdue``.
``hydromet_links`` (every 5 min; 20 links, kind ``data_link``)
    ``up`` and, while up, ``latency_ms`` of links to forecasting centres, radars,
    monitoring centres and the ministry's IT systems.

Station artefacts (air, water, wastewater, emission): outages leave gaps (no rows);
weekly (CEMS: daily) zero/span calibration and maintenance give quality 1 rows with
the zero or span value; device faults give quality 2 rows stuck at 0 or full scale;
rare flat lines keep quality 0 for plausibility checks to catch.
"""
from data_sources.demo.adapter import FEEDS, DemoAdapter, DemoOptions, backfill, iter_backfill

__all__ = ["FEEDS", "DemoAdapter", "DemoOptions", "backfill", "iter_backfill"]
