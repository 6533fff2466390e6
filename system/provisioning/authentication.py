"""Provisioning's API-key backend: a presented key is valid when its hash matches, it is not
revoked and its customer is not suspended. Starlette's authentication middleware runs it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.authentication import AuthCredentials, AuthenticationBackend
from starlette.requests import HTTPConnection

from system.clock import Clock
from system.http.auth import Principal, Refused, presented_key, unauthorized
from system.http.problems import Problem
from system.provisioning import api_keys, store


class ApiKeyBackend(AuthenticationBackend):
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def authenticate(
        self, connection: HTTPConnection
    ) -> tuple[AuthCredentials, Principal] | None:
        """None when no key is presented (the route answers 401); Refused for a key that is
        not valid, revoked, or of a suspended customer."""
        plaintext = presented_key(connection)
        if not plaintext:
            return None
        prefix = api_keys.prefix_of(plaintext)
        if prefix is None:
            raise Refused(unauthorized("The API key is not valid."))
        async with self._engine.connect() as db:
            key = await store.find_key(db, prefix)
        if key is None or not api_keys.verify(plaintext, key["key_hash"]):
            raise Refused(unauthorized("The API key is not valid."))
        if key["revoked_at"] is not None:
            raise Refused(unauthorized("The API key has been revoked."))
        if key["customer_status"] == "suspended":
            raise Refused(
                Problem(
                    403,
                    "Account Suspended",
                    "This account has been suspended; contact support to restore it.",
                    slug="account-suspended",
                )
            )
        now = self._clock.now()
        if store.key_use_is_stale(key, now):  # a write at most once a minute per key
            async with self._engine.begin() as db:
                await store.touch_key(db, key, now)
        return AuthCredentials(["api"]), Principal(customer_id=key["customer_id"], key_id=key["id"])
