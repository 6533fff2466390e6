"""The ASGI app: one async catch-all endpoint in front of synchronous resource handlers.

Per request: assign ``Request-Id`` -> authenticate (Bearer or Basic, one
account per key) -> fault injection -> route -> idempotency (POST) -> param
validation -> handler -> ``expand`` -> JSON. Handlers never await, so requests
never interleave inside the state. ``/_emulator/*`` is a small JSON control API.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.routing import Route as HttpRoute
from starlette.types import Receive, Scope, Send

from . import cli_sessions, errors, webhooks
from .clock import ManualClock
from .expand import expand
from .faults import ERROR, RATE_LIMIT, TIMEOUT
from .forms import FormError, decode
from .resources import all_routes
from .routing import Ctx, Route, Router
from .schema import validate
from .state import EmulatorState
from .store import IDEMPOTENCY_TTL, Account, IdempotencyRecord

_dumps = orjson.dumps


def _api_key(header: str | None) -> str:
    if not header:
        raise errors.missing_api_key()
    scheme, _, cred = header.partition(" ")
    scheme = scheme.lower()
    cred = cred.strip()
    if scheme == "bearer":
        key = cred
    elif scheme == "basic":
        try:
            key = base64.b64decode(cred, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise errors.invalid_api_key(cred) from None
    else:
        raise errors.invalid_api_key(header)
    if not key:
        raise errors.missing_api_key()
    return key


_JSON_HEADERS = [(b"content-type", b"application/json")]


class Api:
    """The request pipeline, as a raw ASGI app (no per-request Starlette objects)."""

    def __init__(self, state: EmulatorState, routes: list[Route] | None = None) -> None:
        self.state = state
        self.router = Router(routes if routes is not None else all_routes())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        method: str = scope["method"]
        path: str = scope["path"]
        req_headers: dict[bytes, bytes] = dict(scope["headers"])
        rid = state.ids.new("req")
        version_b = req_headers.get(b"stripe-version")
        version = version_b.decode("latin-1") if version_b else state.api_version
        headers = {"Request-Id": rid, "Stripe-Version": version}
        try:
            account = state.account_for_key(self._authenticate(req_headers))
            # Read the whole request before any injected delay: a client that gives up
            # during the delay must not turn its request into an empty one.
            if method == "POST":
                raw: bytes = await _read_body(receive)
            else:
                raw = scope.get("query_string", b"")
            if state.faults.active:
                await self._fault(method, path)
            status, body = self._dispatch(
                account, method, path, raw, req_headers, rid, version, headers
            )
        except errors.StripeError as e:
            headers.update(e.headers)
            status, body = e.status, _dumps(e.body())
        except _Disconnected:
            return
        raw_headers = [
            *_JSON_HEADERS,
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})

    def _authenticate(self, req_headers: dict[bytes, bytes]) -> str:
        auth = req_headers.get(b"authorization")
        key = _api_key(auth.decode("latin-1") if auth is not None else None)
        if not self.state.key_is_valid(key):
            raise errors.invalid_api_key(key)
        return key

    async def _fault(self, method: str, path: str) -> None:
        decision = self.state.faults.decide(method, path)
        if decision.delay:
            await asyncio.sleep(decision.delay)
        if decision.action == ERROR or decision.action == TIMEOUT:
            raise errors.api_error()
        if decision.action == RATE_LIMIT:
            raise errors.rate_limit()

    def _dispatch(
        self,
        account: Account,
        method: str,
        path: str,
        raw: bytes,
        req_headers: dict[bytes, bytes],
        rid: str,
        version: str,
        headers: dict[str, str],
    ) -> tuple[int, bytes]:
        """Synchronous from here on: no awaits, so requests never interleave in the state."""
        state = self.state
        try:
            params = decode(raw)
        except FormError as e:
            raise errors.invalid(str(e), e.param) from None
        matched = self.router.match(method, path)
        if matched is None:
            raise errors.unrecognized_url(method, path)
        route, path_params = matched

        idem_key: str | None = None
        if method == "POST":
            idem_b = req_headers.get(b"idempotency-key")
            if idem_b is not None:
                idem_key = idem_b.decode("utf-8", "replace")
        if idem_key is not None:
            headers["Idempotency-Key"] = idem_key
            rec = account.idempotency.get(idem_key)
            if rec is not None and state.now() - rec.created < IDEMPOTENCY_TTL:
                if rec.method != method or rec.path != path:
                    raise errors.idempotency_endpoint_error(idem_key, rec.path, path)
                if rec.params != params:
                    raise errors.idempotency_error(idem_key)
                headers["Idempotent-Replayed"] = "true"
                headers["Original-Request"] = rec.request_id
                return rec.status, rec.response
            headers["Original-Request"] = rid

        # Validation failures are not stored as idempotent results (like Stripe).
        values = validate(route.schema, params)
        ctx = Ctx(state, account, method, path, path_params, values, rid, idem_key, version)
        status = 200
        try:
            result = route.handler(ctx)
            exp = values.get("expand")
            if exp:
                result = expand(account, result, [e for e in exp if e])
            body = _dumps(result)
        except errors.StripeError as e:
            # A handler may have stored objects and recorded events before raising (a
            # declined payment keeps its failed charge and events): those are persisted
            # and announced below whether or not the request carries an idempotency key.
            headers.update(e.headers)
            status, body = e.status, _dumps(e.body())
        if idem_key is not None:
            account.remember(
                idem_key,
                IdempotencyRecord(method, path, params, status, body, rid, state.now()),
            )
        if account.dirty:
            state.flush(account)
        for evt in ctx.events:
            state.notify(account, evt)
        return status, body


class _Disconnected(Exception):
    """The client went away before its request body arrived: nothing to process."""


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class EmulatorApp(Starlette):
    """Starlette app whose ``/v1/`` requests skip Starlette routing and go straight to ``Api``."""

    api: Api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"].startswith("/v1/")
            and not scope["path"].startswith(cli_sessions.SESSION_PATH)
        ):
            await self.api(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


# -- control API (outside /v1) ----------------------------------------------------


def _control_routes(state: EmulatorState) -> list[HttpRoute]:
    async def get_faults(request: Request) -> Response:
        return JSONResponse(state.faults.as_dict())

    async def set_faults(request: Request) -> Response:
        try:
            body = await request.json() if await request.body() else {}
            state.faults.configure(**body)
        except (ValueError, TypeError) as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse(state.faults.as_dict())

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def clock(request: Request) -> Response:
        body: dict[str, Any] = await request.json() if await request.body() else {}
        clk = state.clock
        if body:
            if not isinstance(clk, ManualClock):
                return JSONResponse({"error": "emulator clock is not a ManualClock"}, 400)
            if "now" in body:
                clk.set(int(body["now"]))
            if "advance" in body:
                clk.advance(int(body["advance"]))
        return JSONResponse({"now": clk.now(), "manual": isinstance(clk, ManualClock)})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "accounts": len(state.accounts)})

    return [
        HttpRoute("/faults", get_faults, methods=["GET"]),
        HttpRoute("/faults", set_faults, methods=["POST"]),
        HttpRoute("/reset", reset, methods=["POST"]),
        HttpRoute("/clock", clock, methods=["GET", "POST"]),
        HttpRoute("/health", health, methods=["GET"]),
    ]


def create_app(state: EmulatorState, routes: list[Route] | None = None) -> Starlette:
    """The emulator ASGI app for ``state`` (all resource routes unless ``routes`` given)."""
    api = Api(state, routes)
    app = EmulatorApp(
        routes=[
            Mount(
                "/_emulator",
                routes=[
                    *_control_routes(state),
                    *webhooks.control_routes(state),
                    *cli_sessions.control_routes(state),
                ],
            ),
            *cli_sessions.routes(state),
            Mount("", app=api),
        ]
    )
    app.api = api
    app.state.emulator = state
    return app
