"""Administration: accounts, tokens and the audit log (admin role only).

    GET  /api/v1/users                       the accounts (never their password hashes)
    POST /api/v1/users                       {"username", "role", "display_name"?, "password"?}
                                             201; without "password" one is generated and returned once
    POST /api/v1/users/<username>            {"role"?, "disabled"?, "display_name"?, "password"? | "reset_password": true}
    GET  /api/v1/tokens?all=1                API and kiosk tokens (never their secrets); all=1: revoked too
    POST /api/v1/tokens                      {"name", "scope"?: read|operator, "wall"?}: 201 with "token",
                                             shown only in this answer (a "wall" makes a kiosk token)
    POST /api/v1/tokens/<id>/revoke          the token's next request is refused
    GET  /api/v1/audit?action=&actor=&limit= the newest entries first (action "user." for a prefix)

Every change is written to the audit log by the account and token functions, with the
admin's name and address. The same is possible from the command line (``cli.py user``,
``cli.py token``).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from api.serialize import bad_request, iso
from auth import audit
from auth.accounts import User, create_user, list_users, set_disabled, set_password, set_role
from auth.passwords import generate_password
from auth.tokens import Token, create_token, list_tokens, revoke_token
from auth.web import client_address, current_principal, require_role
from services import current
from wall_config import current_walls

MAX_AUDIT = 1000


def _actor() -> dict[str, str]:
    principal = current_principal()
    return {"actor": principal.name if principal else "?", "address": client_address()}


def user_json(user: User, tz: Any) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "disabled": user.disabled, "locked_until": iso(user.locked_until, tz),
            "created_at": iso(user.created_at, tz), "last_login_at": iso(user.last_login_at, tz)}


def token_json(token: Token, tz: Any) -> dict[str, Any]:
    return {"id": token.id, "kind": token.kind, "name": token.name, "scope": token.scope, "wall": token.wall,
            "created_by": token.created_by, "created_at": iso(token.created_at, tz),
            "last_used_at": iso(token.last_used_at, tz), "revoked_at": iso(token.revoked_at, tz)}


def _text(body: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"'{key}' must be a string")
    return value


def register(bp: Blueprint) -> None:
    @bp.get("/users")
    @require_role("admin")
    def users_list():  # noqa: ANN202
        tz = current().settings.tz
        return jsonify({"users": [user_json(u, tz) for u in list_users(current().engine)]})

    @bp.post("/users")
    @require_role("admin")
    def users_create():  # noqa: ANN202
        body = request.get_json()
        try:
            password = _text(body, "password")
            generated = not password
            password = password or generate_password()
            user = create_user(current().engine, _text(body, "username") or "", password, _text(body, "role") or "",
                               display_name=_text(body, "display_name", "") or "", **_actor())
        except ValueError as exc:
            return bad_request(str(exc))
        answer = user_json(user, current().settings.tz)
        if generated:
            answer["password"] = password  # shown once
        response = jsonify(answer)
        response.status_code = 201
        return response

    @bp.post("/users/<username>")
    @require_role("admin")
    def users_change(username: str):  # noqa: ANN202
        body = request.get_json()
        engine, who = current().engine, _actor()
        answer: dict[str, Any] = {}
        try:
            if "role" in body:
                set_role(engine, username, _text(body, "role") or "", **who)
            if "disabled" in body:
                if not isinstance(body["disabled"], bool):
                    raise ValueError("'disabled' must be true or false")
                set_disabled(engine, username, body["disabled"], **who)
            if body.get("reset_password") is True or "password" in body:
                password = _text(body, "password") or generate_password()
                set_password(engine, username, password, **who)
                if not body.get("password"):
                    answer["password"] = password  # shown once
        except ValueError as exc:
            return Response(status=404) if str(exc).startswith("no user") else bad_request(str(exc))
        user = next((u for u in list_users(engine) if u.username == username.strip().lower()), None)
        if user is None:
            return Response(status=404)
        return jsonify({**user_json(user, current().settings.tz), **answer})

    @bp.get("/tokens")
    @require_role("admin")
    def tokens_list():  # noqa: ANN202
        found = list_tokens(current().engine, include_revoked=request.args.get("all") in ("1", "true"))
        return jsonify({"tokens": [token_json(t, current().settings.tz) for t in found]})

    @bp.post("/tokens")
    @require_role("admin")
    def tokens_create():  # noqa: ANN202
        body = request.get_json()
        try:
            wall = _text(body, "wall")
            if wall is not None and wall not in current_walls(current().settings.walls_file):
                raise ValueError(f"unknown wall {wall!r}")
            token, secret = create_token(current().engine, "kiosk" if wall else "api", _text(body, "name") or "",
                                         scope=_text(body, "scope") or "read", wall=wall, **_actor())
        except ValueError as exc:
            return bad_request(str(exc))
        answer = {**token_json(token, current().settings.tz), "token": secret}
        if wall:
            answer["url"] = f"/wall/{wall}?kiosk=1&token={secret}"
        response = jsonify(answer)
        response.status_code = 201
        return response

    @bp.post("/tokens/<int:token_id>/revoke")
    @require_role("admin")
    def tokens_revoke(token_id: int):  # noqa: ANN202
        if not revoke_token(current().engine, token_id, **_actor()):
            return jsonify({"error": f"no live token {token_id}"}), 404
        return jsonify({"id": token_id, "revoked": True})

    @bp.get("/audit")
    @require_role("admin")
    def audit_list():  # noqa: ANN202
        try:
            limit = min(max(int(request.args.get("limit", 200)), 1), MAX_AUDIT)
        except ValueError:
            return bad_request("limit must be a number")
        tz = current().settings.tz
        entries = audit.recent(current().engine, limit, request.args.get("action") or None,
                               request.args.get("actor") or None)
        return jsonify({"entries": [{"id": e.id, "at": iso(e.at, tz), "actor": e.actor, "action": e.action,
                                     "target": e.target, "address": e.address, "outcome": e.outcome,
                                     "detail": e.detail} for e in entries]})
