"""Source adapters: one module per kind of source, plus the registry.

Importing this package registers the built-in kinds.
"""
