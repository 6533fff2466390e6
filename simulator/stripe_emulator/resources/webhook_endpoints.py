"""Webhook endpoints: create (returns ``secret`` once) / retrieve / update / delete / list.

Delivery itself (signing, retries, faults) lives in :mod:`..webhooks`; the
signing secret is kept in the ``webhook_endpoint_secret`` collection and
never appears in a retrieve, update or list response, as at Stripe.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .. import errors
from ..common import LIST_PARAMS, apply_metadata, deleted, list_response
from ..routing import Ctx, Route
from ..schema import Bool, ListOf, Metadata, Schema, Str
from ..webhooks import ENDPOINTS, SECRETS, new_secret

COLLECTION = ENDPOINTS
PREFIX = "we"
ID_LENGTH = 24
EXPANDABLE = {PREFIX: COLLECTION}

CREATE_PARAMS: Schema = {
    "url": Str(required=True),
    "enabled_events": ListOf(Str(), required=True),
    "description": Str(),
    "metadata": Metadata(),
    "api_version": Str(),
    "connect": Bool(),
}
UPDATE_PARAMS: Schema = {
    "url": Str(),
    "enabled_events": ListOf(Str()),
    "description": Str(),
    "metadata": Metadata(),
    "disabled": Bool(),
}
LIST: Schema = {**LIST_PARAMS}


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.invalid(f"Invalid URL: {value}", "url", code="url_invalid")
    return value


def _events(value: list[str] | None) -> list[str]:
    events = [e for e in value or [] if e]
    if not events:
        raise errors.parameter_missing("enabled_events")
    for i, e in enumerate(events):
        if e != "*" and ("." not in e or " " in e):
            raise errors.invalid(
                f"Invalid enabled_events[{i}]: must be a valid event type or '*'",
                f"enabled_events[{i}]",
            )
    return list(dict.fromkeys(events))


def create(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    obj: dict[str, Any] = {
        "id": ctx.new_id(PREFIX, ID_LENGTH),
        "object": "webhook_endpoint",
        "api_version": p.get("api_version"),
        "application": None,
        "created": ctx.now(),
        "description": p.get("description"),
        "enabled_events": _events(p.get("enabled_events")),
        "livemode": False,
        "metadata": apply_metadata({}, p.get("metadata") or {}),
        "status": "enabled",
        "url": _url(p["url"]),
    }
    secret = new_secret(ctx.state)
    ctx.coll(SECRETS).put({"id": obj["id"], "secret": secret})
    ctx.coll(COLLECTION).put(obj)
    return {**obj, "secret": secret}


def retrieve(ctx: Ctx) -> dict[str, Any]:
    return ctx.get_or_404(COLLECTION, ctx.path_params["id"])


def update(ctx: Ctx) -> dict[str, Any]:
    obj = ctx.get_or_404(COLLECTION, ctx.path_params["id"])
    p = ctx.params
    if p.get("url") is not None:
        obj["url"] = _url(p["url"])
    if "enabled_events" in p:
        obj["enabled_events"] = _events(p["enabled_events"])
    if "description" in p:
        obj["description"] = p["description"]
    if "metadata" in p:
        obj["metadata"] = apply_metadata(obj.get("metadata") or {}, p["metadata"])
    if p.get("disabled") is not None:
        obj["status"] = "disabled" if p["disabled"] else "enabled"
    ctx.coll(COLLECTION).touch(obj["id"])
    return obj


def delete(ctx: Ctx) -> dict[str, Any]:
    we_id = ctx.path_params["id"]
    ctx.get_or_404(COLLECTION, we_id)
    ctx.coll(COLLECTION).delete(we_id)
    ctx.coll(SECRETS).delete(we_id)
    return deleted(we_id, "webhook_endpoint")


def list_(ctx: Ctx) -> dict[str, Any]:
    return list_response(ctx, COLLECTION, "/v1/webhook_endpoints")


ROUTES = [
    Route("POST", "/v1/webhook_endpoints", create, CREATE_PARAMS),
    Route("GET", "/v1/webhook_endpoints", list_, LIST),
    Route("GET", "/v1/webhook_endpoints/{id}", retrieve),
    Route("POST", "/v1/webhook_endpoints/{id}", update, UPDATE_PARAMS),
    Route("DELETE", "/v1/webhook_endpoints/{id}", delete),
]
