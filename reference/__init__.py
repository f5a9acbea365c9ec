"""Reference data that does not come from a source: administrative units and the like.

Pure, immutable tables and lookups; no I/O, no store. See :mod:`reference.provinces`.
"""
from reference import provinces
from reference.provinces import *  # noqa: F403 - the package re-exports the provinces table

__all__ = provinces.__all__
