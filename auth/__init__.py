"""Access control: local accounts with roles, API and kiosk tokens, CSRF, security headers, audit.

- :mod:`auth.policy` — roles, the principal of a request, which paths and callbacks need what
  (and :func:`auth.policy.action`, how a callback declares a state change);
- :mod:`auth.web` — the Flask hooks, ``/login`` and ``/logout``, :func:`auth.web.api_action`;
- :mod:`auth.accounts` — users, passwords and lockout; :mod:`auth.passwords` — hashing and policy;
- :mod:`auth.tokens` — API and kiosk tokens; :mod:`auth.csrf` — the CSRF token;
- :mod:`auth.audit` — the audit log; :mod:`auth.secret` — the secret key;
- :mod:`auth.bootstrap` — the first admin of a new installation.
"""
