"""``stripe listen`` offline: the CLI session endpoint and the websocket protocol it speaks.

Owns ``POST /v1/stripecli/sessions`` and the websocket at ``/stripecli/websocket``.

Protocol (as the real CLI speaks it, see ``pkg/stripeauth``, ``pkg/websocket``,
``pkg/proxy`` in the public stripe-cli repository):

1. The CLI authenticates with its API key and posts ``device_name``,
   ``websocket_features[]`` and its ``forward_*_url``\\ s. We answer with a
   ``websocket_id``, an absolute ``websocket_url`` (``ws://`` on the host the
   request came to), ``websocket_authorized_feature``, ``reconnect_delay``,
   ``secret`` and the API versions. The ``secret`` is stable per account, so
   ``stripe listen --print-secret`` prints the secret later sessions sign with.
2. The CLI dials ``websocket_url?websocket_feature=...`` with a ``Websocket-Id``
   header (subprotocol ``stripecli-devproxy-v1``). An unknown id is refused
   with ``{"error": {"message": "Unknown WebSocket ID."}}``, which makes the
   CLI open a new session.
3. For each event of the account we send ``{"type": "webhook_event",
   "webhook_id", "webhook_conversation_id", "event_payload": <JSON string>,
   "http_headers": {... "Stripe-Signature": <signed with the session secret>},
   "endpoint": {"api_version": null}}``. The CLI does not sign: it forwards the
   payload with exactly these headers. It filters by ``--events`` itself and
   routes events with an ``account`` to ``--forward-connect-to``.
4. The CLI answers ``{"type": "event_ack", "event_id", ...}`` at once and,
   after forwarding, ``{"type": "webhook_response", "status", "body", ...}``.
   An event stays queued until acknowledged; the CLI drops the connection
   every ``reconnect_delay`` seconds and dials again with the same id, and
   everything not yet acknowledged is sent again (freshly signed) then.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.routing import Route as HttpRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import errors
from .forms import FormError, decode
from .webhooks import SECRET_ALPHABET, event_payload, webhook_headers

if TYPE_CHECKING:
    from .state import EmulatorState
    from .store import Account

log = logging.getLogger(__name__)

SESSION_PATH = "/v1/stripecli/sessions"
WEBSOCKET_PATH = "/stripecli/websocket"
SUBPROTOCOL = "stripecli-devproxy-v1"
UNKNOWN_ID = "Unknown WebSocket ID."
SECRETS = "stripecli_secret"  # one row per account: {"id": "default", "secret": ...}


@dataclass
class CliConfig:
    reconnect_delay: int = 60  # seconds; the CLI resets its connection this often
    session_ttl: float = 120.0  # a session unconnected this long stops queueing events


@dataclass
class _Pending:
    event: dict[str, Any]
    payload: bytes
    sent_on: int = -1  # connection number it was last sent on


@dataclass
class CliSession:
    id: str
    account: Account
    secret: str
    device_name: str
    features: list[str]
    forward: dict[str, str]
    created: float
    last_seen: float
    pending: OrderedDict[str, _Pending] = field(default_factory=OrderedDict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    acked: int = 0
    connection: int = 0  # number of the current connection (0 = never connected)
    connected: bool = False
    loop: asyncio.AbstractEventLoop | None = None
    wake: asyncio.Event | None = None
    socket: WebSocket | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account": self.account.id,
            "device_name": self.device_name,
            "features": self.features,
            "forward": self.forward,
            "connected": self.connected,
            "connections": self.connection,
            "pending": len(self.pending),
            "acked": self.acked,
            "responses": len(self.responses),
        }


class CliSessions:
    """All ``stripe listen`` sessions of one emulator state."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.config = CliConfig()
        self.sessions: dict[str, CliSession] = {}
        self._lock = threading.Lock()
        self._unsubscribe = state.subscribe(self._on_event)

    def configure(self, **values: Any) -> CliConfig:
        known = set(asdict(CliConfig()))
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        self.config = CliConfig(**values)
        return self.config

    def secret_for(self, account: Account) -> str:
        coll = account.coll(SECRETS)
        row = coll.get("default")
        if row is None:
            row = {"id": "default", "secret": "whsec_" + self.state.ids.token(SECRET_ALPHABET, 64)}
            coll.put(row)
        secret: str = row["secret"]
        return secret

    def create(self, account: Account, params: dict[str, Any]) -> CliSession:
        features = params.get("websocket_features") or ["webhooks"]
        if isinstance(features, str):
            features = [features]
        forward = {
            k: v for k, v in params.items() if k.startswith("forward_") and isinstance(v, str)
        }
        now = time.monotonic()
        session = CliSession(
            id=self.state.ids.new("wsid", 24),
            account=account,
            secret=self.secret_for(account),
            device_name=str(params.get("device_name") or ""),
            features=[str(f) for f in features],
            forward=forward,
            created=now,
            last_seen=now,
        )
        with self._lock:
            self.sessions[session.id] = session
        return session

    def _alive(self, s: CliSession, now: float) -> bool:
        return s.connected or now - s.last_seen < self.config.session_ttl

    def _on_event(self, account: Account, event: dict[str, Any]) -> None:
        if not self.sessions:
            return
        now = time.monotonic()
        payload: bytes | None = None
        expired: list[str] = []
        with self._lock:
            for s in self.sessions.values():
                if s.account is not account:
                    continue
                if not self._alive(s, now):
                    expired.append(s.id)
                    continue
                if payload is None:
                    payload = event_payload(event)
                s.pending[event["id"]] = _Pending(event, payload)
                if s.loop is not None and s.wake is not None:
                    with contextlib.suppress(RuntimeError):  # its loop closed
                        s.loop.call_soon_threadsafe(s.wake.set)
            for sid in expired:
                del self.sessions[sid]

    # -- websocket ---------------------------------------------------------------
    async def serve(self, ws: WebSocket) -> None:
        sid = ws.headers.get("websocket-id", "")
        session = self.sessions.get(sid)
        if session is None:
            body = {"error": {"message": UNKNOWN_ID, "type": "invalid_request_error"}}
            await _deny(ws, JSONResponse(body, status_code=400))
            return
        await ws.accept(
            subprotocol=SUBPROTOCOL if SUBPROTOCOL in ws.scope.get("subprotocols", []) else None
        )
        old = session.socket
        with self._lock:
            session.connection += 1
            number = session.connection
            session.connected = True
            session.loop = asyncio.get_running_loop()
            session.wake = asyncio.Event()
            session.socket = ws
            wake = session.wake
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close(1000, "Replaced by a new connection")
        reader = asyncio.create_task(self._read(session, ws))
        try:
            while not reader.done():
                batch: list[tuple[str, _Pending]] = []
                with self._lock:
                    for eid, p in session.pending.items():
                        if p.sent_on != number:
                            p.sent_on = number
                            batch.append((eid, p))
                    wake.clear()
                for _eid, p in batch:
                    await ws.send_text(self._message(session, p))
                if not batch:
                    waiter = asyncio.create_task(wake.wait())
                    await asyncio.wait({reader, waiter}, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            with self._lock:
                if session.connection == number:
                    session.connected = False
                    session.socket = None
                    session.loop = session.wake = None
                    session.last_seen = time.monotonic()

    def _message(self, session: CliSession, p: _Pending) -> str:
        ids = self.state.ids
        msg = {
            "type": "webhook_event",
            "webhook_id": ids.new("we", 24),
            "webhook_conversation_id": ids.new("wc", 24),
            "event_payload": p.payload.decode(),
            "http_headers": webhook_headers(p.payload, session.secret),
            "endpoint": {"api_version": None},
        }
        return orjson.dumps(msg).decode()

    async def _read(self, session: CliSession, ws: WebSocket) -> None:
        while True:
            try:
                text = await ws.receive_text()
            except (WebSocketDisconnect, RuntimeError, KeyError):
                return
            try:
                msg = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(msg, dict):
                continue
            kind = msg.get("type")
            if kind == "event_ack":
                with self._lock:
                    if session.pending.pop(str(msg.get("event_id")), None) is not None:
                        session.acked += 1
            elif kind == "webhook_response":
                session.responses.append(
                    {
                        "event_id": msg.get("notification_id"),
                        "forward_url": msg.get("forward_url"),
                        "status": msg.get("status"),
                        "body": msg.get("body"),
                        "webhook_id": msg.get("webhook_id"),
                    }
                )

    async def drop_connections(self) -> int:
        """Close every open CLI websocket (the CLI dials again; nothing is lost)."""
        sockets = [s.socket for s in list(self.sessions.values()) if s.socket is not None]
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close(1001, "Going away")
        return len(sockets)

    def close(self) -> None:
        self._unsubscribe()


async def _deny(ws: WebSocket, response: Response) -> None:
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(response)
    else:
        await ws.close(1008, UNKNOWN_ID)


def _api_key(header: str | None) -> str:
    if not header:
        raise errors.missing_api_key()
    scheme, _, cred = header.partition(" ")
    if scheme.lower() == "bearer":
        key = cred.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(cred.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise errors.invalid_api_key(cred) from None
    else:
        raise errors.invalid_api_key(header)
    if not key:
        raise errors.missing_api_key()
    return key


_REGISTRY: WeakKeyDictionary[EmulatorState, CliSessions] = WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def sessions_for(state: EmulatorState) -> CliSessions:
    with _REGISTRY_LOCK:
        s = _REGISTRY.get(state)
        if s is None:
            s = _REGISTRY[state] = CliSessions(state)
        return s


def routes(state: EmulatorState) -> list[BaseRoute]:
    """The session endpoint and the websocket (mount before the API catch-all)."""
    registry = sessions_for(state)

    async def create_session(request: Request) -> Response:
        try:
            key = _api_key(request.headers.get("authorization"))
            if not state.key_is_valid(key):
                raise errors.invalid_api_key(key)
            account = state.account_for_key(key)
            try:
                params = decode(await request.body())
            except FormError as e:
                raise errors.invalid(str(e), e.param) from None
        except errors.StripeError as e:
            return Response(orjson.dumps(e.body()), e.status, e.headers, "application/json")
        session = registry.create(account, params)
        if account.dirty:
            state.flush(account)
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        return JSONResponse(
            {
                "websocket_id": session.id,
                "websocket_url": f"ws://{host}{WEBSOCKET_PATH}",
                "websocket_authorized_feature": "webhooks",
                "reconnect_delay": registry.config.reconnect_delay,
                "secret": session.secret,
                "display_connect_filter_warning": False,
                "default_version": state.api_version,
                "latest_version": state.api_version,
                "device_token": "",
            }
        )

    return [
        HttpRoute(SESSION_PATH, create_session, methods=["POST"]),
        WebSocketRoute(WEBSOCKET_PATH, registry.serve),
    ]


def control_routes(state: EmulatorState) -> list[BaseRoute]:
    """``/_emulator/stripecli/...``: config, session summaries, responses, dropping sockets."""
    registry = sessions_for(state)

    async def config(request: Request) -> Response:
        body = await request.body()
        if request.method == "POST" and body:
            try:
                registry.configure(**orjson.loads(body))
            except (ValueError, TypeError) as e:
                return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse(asdict(registry.config))

    async def sessions(request: Request) -> Response:
        return JSONResponse({"data": [s.summary() for s in registry.sessions.values()]})

    async def responses(request: Request) -> Response:
        s = registry.sessions.get(request.path_params["id"])
        if s is None:
            return JSONResponse({"error": "no such session"}, status_code=404)
        return JSONResponse({"data": s.responses})

    async def drop(request: Request) -> Response:
        return JSONResponse({"dropped": await registry.drop_connections()})

    return [
        HttpRoute("/stripecli/config", config, methods=["GET", "POST"]),
        HttpRoute("/stripecli/sessions", sessions, methods=["GET"]),
        HttpRoute("/stripecli/sessions/{id}/responses", responses, methods=["GET"]),
        HttpRoute("/stripecli/drop", drop, methods=["POST"]),
    ]
