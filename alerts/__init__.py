"""Live alerts: rules as configuration, conditions computed from the store after each
poll, and the persisted lifecycle of each alert (firing → acknowledged → resolved).

- :mod:`alerts.rules` — the operator's rules file (``config/alerts.yaml``), validated.
- :mod:`alerts.evaluate` — the current condition of every rule and subject, from the
  hourly roll-ups and the latest readings; then the lifecycle applies it.
- :mod:`alerts.lifecycle` — transitions in one transaction, acknowledgements, silences.
- :mod:`alerts.hook` — the call polling makes after each poll (rules loaded once per process).

Read functions for pages and the API live in :mod:`queries.alerts`.
"""
