"""API-key authentication: `Authorization: Bearer <key>` or `X-Api-Key: <key>`."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from system.http.problems import Problem
from system.provisioning import api_keys, store
from system.services import Services


@dataclass(frozen=True)
class Principal:
    customer_id: str
    key_id: str


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "Unauthorized",
        detail,
        slug="unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="rsolv"'},
    )


async def authenticate(request: Request, services: Services) -> Principal:
    """The principal behind the request's key, or a 401 Problem."""
    plaintext = presented_key(request)
    if not plaintext:
        raise _unauthorized("An API key is required (Authorization: Bearer or X-Api-Key).")
    prefix = api_keys.prefix_of(plaintext)
    if prefix is None:
        raise _unauthorized("The API key is not valid.")
    async with services.engine.connect() as connection:
        key = await store.find_key(connection, prefix)
    if key is None or not api_keys.verify(plaintext, key["key_hash"]):
        raise _unauthorized("The API key is not valid.")
    if key["revoked_at"] is not None:
        raise _unauthorized("The API key has been revoked.")
    if key["customer_status"] == "suspended":
        raise Problem(
            403,
            "Account Suspended",
            "This account has been suspended; contact support to restore it.",
            slug="account-suspended",
        )
    now = services.clock.now()
    if store.key_use_is_stale(key, now):  # a write at most once a minute per key
        async with services.engine.begin() as connection:
            await store.touch_key(connection, key, now)
    return Principal(customer_id=key["customer_id"], key_id=key["id"])
