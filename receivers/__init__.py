"""Receivers: servers that let outside systems push data to the app, as opposed to the
adapters in :mod:`data_sources`, which the scheduler uses to pull it.

A receiver only writes where a source's adapter reads (for example the drop folder of a
``station_files`` source); the adapter's next poll ingests what arrived, so pushed data
goes through the same validation, quarantine and archiving as pulled data.
"""
