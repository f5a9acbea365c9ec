"""Read queries: small functions that return plain data for the API and the UI.

The UI never writes SQL; it calls these (through :mod:`queries.cached` where many
screens ask the same question).
"""
