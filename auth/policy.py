"""Who may do what: roles, the principal of a request, and the rules for paths and callbacks.

Roles are ordered: ``viewer`` (reads every view and the read API) < ``operator`` (also
acknowledges and silences alerts, exports, produces briefings) < ``admin`` (also manages
users and tokens, reads the audit log). Machine tokens act as viewer (scope ``read``) or
operator on ``/api/v1`` only; a kiosk token shows its one wall and nothing else.

Extension point: a Dash callback that changes state declares it with :func:`action`
(below ``@callback``), naming the role it needs and the audit action, e.g.::

    @callback(Output("alerts-ack-result", "children"), Input("alerts-ack", "n_clicks"), ...)
    @action("operator", "alert.acknowledge")
    def acknowledge_selected(...): ...

The web layer (auth/web.py) refuses the callback to anyone below that role and writes
each call that went through to the audit log. Callbacks without it are read-only.
API views use :func:`auth.web.api_action` the same way.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from store.schema import ROLES

F = TypeVar("F", bound=Callable[..., Any])

# Reachable by anyone: probes, the login page, static files, the language switch.
PUBLIC_PATHS = frozenset({"/livez", "/readyz", "/api/v1/health", "/login", "/favicon.ico"})
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon", "/language/")
# Dash's own endpoints; the page content itself is a callback of dash.page_container.
DASH_PATHS = frozenset({"/_dash-layout", "/_dash-dependencies", "/_dash-update-component", "/_reload-hash"})
PAGES_CALLBACK = "_pages_content.children"
ADMIN_PREFIX = "/admin"
# Callbacks of these modules serve the wall pages: the only ones a kiosk may call.
KIOSK_CALLBACK_MODULES = ("callbacks.wall",)
# Every callback of the admin pages (their reads too: the accounts, the audit log) is for admins.
ADMIN_CALLBACK_MODULE_PREFIX = "pages.admin"
# Values never written to the audit log: inputs or JSON keys whose name contains one of these.
SECRET_NAMES = ("password", "secret", "token")
ACTION_ATTRIBUTE = "_opsc_action"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, an API token, a kiosk (one wall), a render, or anonymous."""

    kind: str  # user | token | kiosk | render | anonymous
    name: str  # for the audit log and acknowledgements: "alice", "token:etl", "kiosk:lobby"
    role: str
    wall: str | None = None
    user_id: int | None = None
    token_id: int | None = None
    label: str = ""  # a user's display name

    def can(self, role: str) -> bool:
        return rank(self.role) >= rank(role)


def rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def action(role: str, name: str) -> Callable[[F], F]:
    """Mark a Dash callback as a state change needing ``role``; its calls are audited as ``name``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")

    def mark(func: F) -> F:
        setattr(func, ACTION_ATTRIBUTE, (role, name))
        return func

    return mark


def callback_action(func: Callable[..., Any] | None) -> tuple[str, str] | None:
    """(role, audit name) of a callback marked with :func:`action`, else None."""
    return getattr(func, ACTION_ATTRIBUTE, None)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def page_role(path: str) -> str:
    """The role a page needs: admin pages admin, the rest viewer."""
    return "admin" if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/") else "viewer"


def wall_path(wall: str) -> str:
    return f"/wall/{wall}"


def kiosk_page_allowed(principal: Principal, path: str) -> bool:
    return principal.wall is not None and path.rstrip("/") == wall_path(principal.wall)
