"""Route table and the request context handed to (synchronous) resource handlers.

A resource module exports ``ROUTES = [Route("POST", "/v1/customers", create,
CREATE_PARAMS), ...]``. The app validates params against the route's schema
(plus ``expand``), builds a :class:`Ctx` and calls ``handler(ctx) -> dict``.
Handlers raise :class:`~.errors.StripeError` for API errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import errors
from .schema import Schema, with_common
from .shapes import jcopy
from .store import Account, Collection

if TYPE_CHECKING:
    from .state import EmulatorState

Handler = Callable[["Ctx"], dict[str, Any]]


@dataclass
class Route:
    method: str
    path: str  # e.g. "/v1/customers/{id}"
    handler: Handler
    params: Schema = field(default_factory=dict)
    schema: Schema = field(init=False)
    segments: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.schema = with_common(self.params)
        self.segments = tuple(self.path.strip("/").split("/"))


class Ctx:
    """Everything a handler may use. Handlers are sync and touch only memory."""

    __slots__ = (
        "account",
        "api_version",
        "events",
        "idempotency_key",
        "method",
        "params",
        "path",
        "path_params",
        "request_id",
        "state",
    )

    def __init__(
        self,
        state: EmulatorState,
        account: Account,
        method: str,
        path: str,
        path_params: dict[str, str],
        params: dict[str, Any],
        request_id: str | None,
        idempotency_key: str | None,
        api_version: str,
    ) -> None:
        self.state = state
        self.account = account
        self.method = method
        self.path = path
        self.path_params = path_params
        self.params = params
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.api_version = api_version
        self.events: list[dict[str, Any]] = []

    # -- helpers ---------------------------------------------------------
    def now(self) -> int:
        return self.state.clock.now()

    def new_id(self, prefix: str, length: int | None = None) -> str:
        return self.state.ids.new(prefix, length)

    def coll(self, name: str) -> Collection:
        return self.account.coll(name)

    def get_or_404(self, collection: str, obj_id: str, param: str = "id") -> dict[str, Any]:
        obj = self.account.coll(collection).get(obj_id)
        if obj is None:
            raise errors.resource_missing(collection, obj_id, param)
        return obj

    def emit(
        self,
        type: str,
        obj: dict[str, Any],
        previous_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record an event for this request (snapshotting ``obj``)."""
        evt = self.state.record_event(
            self.account,
            type,
            obj,
            previous_attributes=previous_attributes,
            request_id=self.request_id,
            idempotency_key=self.idempotency_key,
            api_version=self.api_version,
            notify=False,
        )
        self.events.append(evt)
        return evt


class Router:
    """Matches ``(method, path)`` to a route; literal paths are a dict lookup."""

    def __init__(self, routes: list[Route]) -> None:
        self.static: dict[tuple[str, str], Route] = {}
        self.dynamic: dict[tuple[str, int], list[Route]] = {}
        self.paths: set[tuple[str, ...]] = set()
        for r in routes:
            self.add(r)

    def add(self, route: Route) -> None:
        self.paths.add(route.segments)
        if not any(s.startswith("{") for s in route.segments):
            self.static[(route.method, "/" + "/".join(route.segments))] = route
        else:
            self.dynamic.setdefault((route.method, len(route.segments)), []).append(route)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        path = path.rstrip("/") or "/"
        r = self.static.get((method, path))
        if r is not None:
            return r, {}
        candidates = self.dynamic.get((method, path.count("/")))
        if not candidates:
            return None
        segs = path.strip("/").split("/")
        for route in candidates:
            params: dict[str, str] = {}
            for want, got in zip(route.segments, segs, strict=True):
                if want.startswith("{"):
                    if not got:
                        break
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                return route, params
        return None


def snapshot(obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = jcopy(obj)
    return out
