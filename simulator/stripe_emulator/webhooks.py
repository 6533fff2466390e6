"""Signed webhook delivery to registered ``webhook_endpoints``.

Owns: the background :class:`Dispatcher` (one daemon thread with its own asyncio
loop per emulator state) that POSTs every recorded event to each enabled endpoint
whose ``enabled_events`` match, signed with :func:`.signing.sign` (imported here,
so ``webhooks.sign`` still works), and the per-endpoint delivery faults.

Delivery model:

* one FIFO queue per endpoint, delivered one at a time, so events arrive in
  creation order; a failed head (non-2xx, connection error or timeout) is
  retried with exponential backoff and holds the events behind it, so an
  endpoint that is down loses nothing and resumes in order when it is back;
* the retry schedule is ``backoff_initial * backoff_factor**n`` capped at
  ``backoff_max``, given up after ``max_age`` seconds; all of it is scaled to
  real time by ``time_scale`` (tests use e.g. ``0.001``); when the emulator
  clock is a :class:`~.clock.ManualClock` a retry is also due once that clock
  (test clock) reaches its due time, so advancing it compresses the schedule;
* ``event["pending_webhooks"]`` counts endpoints that still owe the event a
  successful delivery; every attempt is recorded (:meth:`Dispatcher.attempts`);
* faults (per run and per endpoint, seeded): ``duplicate_rate`` (deliver a
  success again), ``reorder_rate`` (swap the head with the next event),
  ``delay_ms`` + ``delay_jitter_ms`` (before each attempt).

The HTTP client is a small keep-alive HTTP/1.1 client on asyncio streams
(one connection per endpoint): it keeps delivery cheap enough for the
1,000 events/s target on a small machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.routing import Route as HttpRoute

from .clock import ManualClock
from .signing import sign

if TYPE_CHECKING:
    from .state import EmulatorState
    from .store import Account

log = logging.getLogger(__name__)

ENDPOINTS = "webhook_endpoint"
SECRETS = "webhook_endpoint_secret"  # id -> {"id", "secret"}; never in API responses
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
SECRET_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# -- signing (the scheme itself: signing.py) -------------------------------------------


def webhook_headers(payload: bytes, secret: str) -> dict[str, str]:
    """Headers Stripe sends with a webhook (signed now, with the wall clock)."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Cache-Control": "no-cache",
        "Accept": "*/*; q=0.5, application/xml",
        "Stripe-Signature": sign(payload, secret),
    }


def new_secret(state: EmulatorState) -> str:
    return "whsec_" + state.ids.token(SECRET_ALPHABET, 32)


def event_payload(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event, option=orjson.OPT_INDENT_2)


def matches(enabled_events: list[str], event_type: str) -> bool:
    return "*" in enabled_events or event_type in enabled_events


# -- configuration ---------------------------------------------------------------------


@dataclass
class DeliveryConfig:
    """Retry schedule and timeouts (schedule seconds are multiplied by ``time_scale``)."""

    backoff_initial: float = 60.0
    backoff_factor: float = 2.0
    backoff_max: float = 6 * 3600.0
    max_age: float = 3 * 24 * 3600.0  # give up after this long (Stripe: three days)
    time_scale: float = 1.0
    timeout: float = 10.0  # real seconds per attempt

    def backoff(self, failures: int) -> float:
        """Schedule seconds before the retry after the ``failures``-th failure (1-based)."""
        return min(self.backoff_max, self.backoff_initial * self.backoff_factor ** (failures - 1))


@dataclass
class EndpointFaults:
    """Delivery faults; ``seed`` makes a run repeatable."""

    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    delay_ms: int = 0
    delay_jitter_ms: int = 0
    seed: int | None = None

    @property
    def active(self) -> bool:
        return bool(
            self.duplicate_rate or self.reorder_rate or self.delay_ms or self.delay_jitter_ms
        )


def _build(cls: type[Any], values: dict[str, Any]) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    return cls(**values)


# -- a small HTTP/1.1 client --------------------------------------------------------------


class HttpError(Exception):
    pass


_NO_VERIFY = ssl.create_default_context()
_NO_VERIFY.check_hostname = False
_NO_VERIFY.verify_mode = ssl.CERT_NONE


class Connection:
    """One keep-alive HTTP/1.1 connection to an endpoint's origin (reopened as needed)."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"unsupported URL {url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default = 443 if self.tls else 80
        self.host_header = self.host if self.port == default else f"{self.host}:{self.port}"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, ssl=_NO_VERIFY if self.tls else None
            )
        return self.reader, self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in (0, 1):
            fresh = self.writer is None or self.writer.is_closing()
            reader, writer = await self._open()
            head = [f"POST {self.target} HTTP/1.1", f"Host: {self.host_header}"]
            head += [f"{k}: {v}" for k, v in headers.items()]
            head.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            try:
                await writer.drain()
                return await self._response(reader)
            except (ConnectionError, asyncio.IncompleteReadError) as e:
                self.close()
                # a kept-alive connection the server closed meanwhile: retry once, fresh
                if fresh or attempt:
                    raise HttpError(str(e) or type(e).__name__) from e
        raise HttpError("unreachable")  # pragma: no cover

    async def _response(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        status_line = await reader.readuntil(b"\r\n")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise HttpError(f"bad status line {status_line!r}")
        status = int(parts[1])
        length: int | None = None
        chunked = False
        keep_alive = parts[0] != b"HTTP/1.0"
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection":
                keep_alive = value.lower() != b"close"
        if chunked:
            body = bytearray()
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":
                        pass
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            data = bytes(body)
        elif length is not None:
            data = await reader.readexactly(length)
        elif status in (204, 304) or 100 <= status < 200:
            data = b""
        else:
            data = await reader.read()
            keep_alive = False
        if not keep_alive:
            self.close()
        return status, data


# -- delivery -------------------------------------------------------------------------------


@dataclass
class Attempt:
    """One delivery attempt of an event to an endpoint."""

    event: str
    endpoint: str
    type: str
    attempt: int  # 1 = first try
    status: int | None
    error: str | None
    ok: bool
    at: float  # wall time
    duration_ms: float
    duplicate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Delivery:
    account: Account
    event: dict[str, Any]
    payload: bytes
    first_at: float = 0.0  # schedule seconds (monotonic / time_scale)
    failures: int = 0
    due_mono: float = 0.0  # real monotonic time
    due_clock: int | None = None  # emulator clock time (ManualClock only)


@dataclass
class _Endpoint:
    key: tuple[str, str]
    account: Account
    id: str
    url: str
    secret: str
    queue: deque[_Delivery] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    conn: Connection | None = None


class Dispatcher:
    """Background webhook delivery for one :class:`EmulatorState`.

    Created (and subscribed to the state's events) by :func:`dispatcher_for`.
    """

    CLOCK_POLL = 0.05  # seconds between looks at a manual clock while a retry waits

    def __init__(self, state: EmulatorState, config: DeliveryConfig | None = None) -> None:
        self.state = state
        self.config = config or DeliveryConfig()
        self.run_faults = EndpointFaults()
        self.endpoint_faults: dict[str, EndpointFaults] = {}
        self._rngs: dict[str | None, random.Random] = {None: random.Random(None)}
        self._attempts: list[Attempt] = []
        self._inbox: deque[tuple[Account, dict[str, Any], list[str]]] = deque()
        self._endpoints: dict[tuple[str, str], _Endpoint] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._wake_pending = False
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._outstanding = 0  # deliveries queued or in flight
        self._unsubscribe = state.subscribe(self._on_event)

    # -- configuration ------------------------------------------------------------
    def configure(self, **values: Any) -> DeliveryConfig:
        """Replace the delivery config (unspecified fields get defaults)."""
        self.config = _build(DeliveryConfig, values)
        self._poke()
        return self.config

    def set_faults(self, endpoint: str | None = None, **values: Any) -> EndpointFaults:
        """Set the run's faults, or one endpoint's (``endpoint`` = its id) when given."""
        faults: EndpointFaults = _build(EndpointFaults, values)
        with self._lock:
            if endpoint is None:
                self.run_faults = faults
            else:
                self.endpoint_faults[endpoint] = faults
            self._rngs[endpoint] = random.Random(faults.seed)
        return faults

    def clear_faults(self) -> None:
        with self._lock:
            self.run_faults = EndpointFaults()
            self.endpoint_faults.clear()
            self._rngs = {None: random.Random(None)}

    def faults_as_dict(self) -> dict[str, Any]:
        return {
            "run": asdict(self.run_faults),
            "endpoints": {k: asdict(v) for k, v in self.endpoint_faults.items()},
        }

    # -- inspection -----------------------------------------------------------------
    def attempts(
        self, event: str | None = None, endpoint: str | None = None
    ) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self._attempts)
        return [
            a.as_dict()
            for a in items
            if (event is None or a.event == event) and (endpoint is None or a.endpoint == endpoint)
        ]

    def clear_attempts(self) -> None:
        with self._lock:
            self._attempts.clear()

    @property
    def outstanding(self) -> int:
        return self._outstanding

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is queued or in flight (True) or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._outstanding or self._inbox:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        self._unsubscribe()
        loop = self._loop
        if loop is not None and self._thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=5)
        self._loop = self._thread = None

    # -- intake (any thread) ------------------------------------------------------------
    def _on_event(self, account: Account, event: dict[str, Any]) -> None:
        coll = account.collections.get(ENDPOINTS)
        if not coll or not coll.objects:
            return
        etype = event["type"]
        targets = [
            we["id"]
            for we in coll.objects.values()
            if we.get("status") == "enabled" and matches(we.get("enabled_events") or [], etype)
        ]
        if not targets:
            return
        with self._lock:
            event["pending_webhooks"] = event.get("pending_webhooks", 0) + len(targets)
            self._outstanding += len(targets)
        self._inbox.append((account, event, targets))
        self._poke()

    def _poke(self) -> None:
        if self._loop is None:
            self._start()
        loop = self._loop
        if loop is None:
            return
        with self._lock:
            if self._wake_pending:
                return
            self._wake_pending = True
        loop.call_soon_threadsafe(self._drain)

    def _start(self) -> None:
        with self._lock:
            if self._loop is not None:
                return
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=loop.run_forever, name="stripe-emulator-webhooks", daemon=True
            )
            self._loop = loop
            self._thread.start()

    # -- the delivery loop (its own thread) -----------------------------------------------
    def _drain(self) -> None:
        with self._lock:
            self._wake_pending = False
        now = time.monotonic()
        touched: list[_Endpoint] = []
        while self._inbox:
            account, event, targets = self._inbox.popleft()
            payload = event_payload(event)
            for we_id in targets:
                key = (account.key, we_id)
                ep = self._endpoints.get(key)
                if ep is None:
                    secrets = account.collections.get(SECRETS)
                    sec = secrets.get(we_id) if secrets is not None else None
                    ep = self._endpoints[key] = _Endpoint(
                        key, account, we_id, "", (sec or {}).get("secret", "")
                    )
                ep.queue.append(_Delivery(account, event, payload, first_at=now, due_mono=now))
                touched.append(ep)
        for ep in touched:
            self._ensure_worker(ep)
        for ep in self._endpoints.values():
            ep.wake.set()

    def _ensure_worker(self, ep: _Endpoint) -> None:
        if ep.task is None or ep.task.done():
            ep.task = asyncio.get_running_loop().create_task(self._worker(ep))

    def _done(self, n: int = 1) -> None:
        with self._idle:
            self._outstanding -= n
            if self._outstanding <= 0:
                self._outstanding = 0
                self._idle.notify_all()

    def _delivered(self, d: _Delivery) -> None:
        with self._lock:
            d.event["pending_webhooks"] = max(0, d.event.get("pending_webhooks", 1) - 1)

    def _faults_for(self, endpoint_id: str) -> tuple[EndpointFaults, random.Random]:
        f = self.endpoint_faults.get(endpoint_id)
        if f is not None:
            return f, self._rngs[endpoint_id]
        return self.run_faults, self._rngs[None]

    def _record(self, a: Attempt) -> None:
        with self._lock:
            self._attempts.append(a)

    def _current(self, ep: _Endpoint) -> dict[str, Any] | None:
        """The endpoint as stored now (None if deleted or its account was reset)."""
        if self.state.accounts.get(ep.account.key) is not ep.account:
            return None
        coll = ep.account.collections.get(ENDPOINTS)
        return coll.get(ep.id) if coll is not None else None

    async def _wait_due(self, ep: _Endpoint, d: _Delivery) -> None:
        clock = self.state.clock
        while True:
            now = time.monotonic()
            if now >= d.due_mono:
                return
            if (
                d.due_clock is not None
                and isinstance(clock, ManualClock)
                and clock.now() >= d.due_clock
            ):
                return
            wait = d.due_mono - now
            if isinstance(clock, ManualClock):
                wait = min(wait, self.CLOCK_POLL)
            ep.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ep.wake.wait(), timeout=wait)

    async def _worker(self, ep: _Endpoint) -> None:
        try:
            while ep.queue:
                we = self._current(ep)
                if we is None:  # endpoint deleted: nothing more is owed to it
                    for d in ep.queue:
                        self._delivered(d)
                    self._done(len(ep.queue))
                    ep.queue.clear()
                    break
                if we.get("status") != "enabled":
                    ep.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(ep.wake.wait(), timeout=0.2)
                    continue
                ep.url = we["url"]
                faults, rng = self._faults_for(ep.id)
                await self._wait_due(ep, ep.queue[0])
                if faults.delay_ms or faults.delay_jitter_ms:
                    delay = faults.delay_ms + rng.uniform(0, faults.delay_jitter_ms)
                    await asyncio.sleep(delay / 1000.0)
                if faults.reorder_rate and ep.queue[0].failures == 0:
                    swap = rng.random() < faults.reorder_rate
                    if swap and len(ep.queue) > 1 and ep.queue[1].failures == 0:
                        ep.queue[0], ep.queue[1] = ep.queue[1], ep.queue[0]
                d = ep.queue[0]
                ok = await self._attempt(ep, d)
                if ok:
                    ep.queue.popleft()
                    self._delivered(d)
                    if faults.duplicate_rate and rng.random() < faults.duplicate_rate:
                        await self._attempt(ep, d, duplicate=True)
                    self._done()
                    continue
                d.failures += 1
                cfg = self.config
                wait = cfg.backoff(d.failures)
                age = (time.monotonic() - d.first_at) / max(cfg.time_scale, 1e-9)
                if age + wait > cfg.max_age:
                    ep.queue.popleft()  # given up: pending_webhooks stays > 0, as at Stripe
                    self._done()
                    continue
                d.due_mono = time.monotonic() + wait * cfg.time_scale
                d.due_clock = self.state.clock.now() + int(wait)
        except Exception:  # pragma: no cover - a bug; keep the loop alive
            log.exception("webhook worker for %s failed", ep.id)
        finally:
            if ep.conn is not None and not ep.queue:
                ep.conn.close()
                ep.conn = None

    async def _attempt(self, ep: _Endpoint, d: _Delivery, duplicate: bool = False) -> bool:
        if ep.conn is not None and ep.conn.url != ep.url:
            ep.conn.close()
            ep.conn = None
        started = time.time()
        t0 = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            if ep.conn is None:
                ep.conn = Connection(ep.url)
            headers = webhook_headers(d.payload, ep.secret)
            status, _ = await asyncio.wait_for(
                ep.conn.post(d.payload, headers), timeout=self.config.timeout
            )
        except TimeoutError:
            error = "timeout"
            if ep.conn is not None:
                ep.conn.close()
        except (HttpError, OSError, ValueError) as e:
            error = f"{type(e).__name__}: {e}"
            if ep.conn is not None:
                ep.conn.close()
        ok = status is not None and 200 <= status < 300
        self._record(
            Attempt(
                event=d.event["id"],
                endpoint=ep.id,
                type=d.event["type"],
                attempt=d.failures + 1,
                status=status,
                error=error,
                ok=ok,
                at=started,
                duration_ms=(time.perf_counter() - t0) * 1000.0,
                duplicate=duplicate,
            )
        )
        return ok


_DISPATCHERS: WeakKeyDictionary[EmulatorState, Dispatcher] = WeakKeyDictionary()
_DISPATCHERS_LOCK = threading.Lock()


def dispatcher_for(state: EmulatorState) -> Dispatcher:
    """The state's dispatcher, created and subscribed on first use."""
    with _DISPATCHERS_LOCK:
        d = _DISPATCHERS.get(state)
        if d is None:
            d = _DISPATCHERS[state] = Dispatcher(state)
        return d


def control_routes(state: EmulatorState) -> list[BaseRoute]:
    """``/_emulator/webhooks/...``: delivery config, faults, attempts, waiting for idle."""
    dispatcher = dispatcher_for(state)

    async def _json(request: Request) -> dict[str, Any]:
        body = await request.body()
        data = orjson.loads(body) if body else {}
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    async def config(request: Request) -> Response:
        if request.method == "POST":
            try:
                dispatcher.configure(**await _json(request))
            except (ValueError, TypeError) as e:
                return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse(asdict(dispatcher.config))

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await _json(request)
                if body.pop("clear", False):
                    dispatcher.clear_faults()
                else:
                    dispatcher.set_faults(body.pop("endpoint", None), **body)
            except (ValueError, TypeError) as e:
                return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse(dispatcher.faults_as_dict())

    async def attempts(request: Request) -> Response:
        q = request.query_params
        return JSONResponse({"data": dispatcher.attempts(q.get("event"), q.get("endpoint"))})

    async def idle(request: Request) -> Response:
        timeout = float(request.query_params.get("timeout", "10"))
        ok = await asyncio.to_thread(dispatcher.wait_idle, timeout)
        return JSONResponse({"idle": ok, "outstanding": dispatcher.outstanding})

    return [
        HttpRoute("/webhooks/config", config, methods=["GET", "POST"]),
        HttpRoute("/webhooks/faults", faults, methods=["GET", "POST"]),
        HttpRoute("/webhooks/attempts", attempts, methods=["GET"]),
        HttpRoute("/webhooks/idle", idle, methods=["GET"]),
    ]


# -- a verifying receiver (tests, benchmarks, the simulator) -----------------------------------


class Receiver:
    """A webhook receiver on a loopback port that verifies each delivery with the SDK.

    ``secrets`` maps a path (e.g. ``"/hook"``) to its signing secret; a path with no
    secret uses ``default_secret``. ``status`` (default 200) is what it answers;
    ``fail_next`` makes the next N requests answer 500; ``delay`` holds each answer.
    Verified events are in ``events`` (dicts) in arrival order; rejected signatures
    count in ``bad``.
    """

    def __init__(self, port: int = 0, default_secret: str | None = None) -> None:
        self.port = port
        self.default_secret = default_secret
        self.secrets: dict[str, str] = {}
        self.status = 200
        self.fail_next = 0
        self.delay = 0.0  # seconds to wait before answering
        self.events: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.bad = 0
        self.requests = 0
        self.first_at = 0.0  # wall time of the first and last verified delivery
        self.last_at = 0.0
        self._cond = threading.Condition()
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _app(self) -> Any:
        import stripe

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return
            chunks = []
            while True:
                msg = await receive()
                chunks.append(msg.get("body", b""))
                if not msg.get("more_body"):
                    break
            body = b"".join(chunks)
            headers = dict(scope["headers"])
            sig = headers.get(b"stripe-signature", b"").decode()
            path = scope["path"]
            secret = self.secrets.get(path, self.default_secret)
            status = self.status
            if self.delay:
                await asyncio.sleep(self.delay)
            with self._cond:
                self.requests += 1
                if self.fail_next > 0:
                    self.fail_next -= 1
                    status = 500
            if status < 300:
                try:
                    evt = stripe.Webhook.construct_event(body, sig, secret or "")
                except (stripe.SignatureVerificationError, ValueError):
                    status = 400
                    with self._cond:
                        self.bad += 1
                else:
                    with self._cond:
                        self.events.append(evt.to_dict())
                        self.paths.append(path)
                        self.last_at = time.time()
                        if not self.first_at:
                            self.first_at = self.last_at
                        self._cond.notify_all()
            out = b'{"received":true}' if status < 300 else b'{"error":"no"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(out)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": out})

        return app

    def start(self) -> Receiver:
        from simulator.servers import ServerThread

        runner = ServerThread(
            self._app(),
            port=self.port,
            name="webhook-receiver",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = runner.__enter__()
        self.port = runner.port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.__exit__(None, None, None)
        self._server = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, n: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``n`` verified events arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.events) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def ids(self) -> list[str]:
        with self._cond:
            return [e["id"] for e in self.events]
