"""Functions that build components and figures from plain data. No I/O here."""
