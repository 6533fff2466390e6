"""Idempotent requests: the same Idempotency-Key and body replay the first answer.

Only a hash of the key is stored; the answer is encrypted with a key derived from the
Idempotency-Key, since it can hold a secret (a new API key) that must not sit in clear.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from system.db.tables import idempotent_requests

MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(Exception):
    """The key was used before with a different request."""


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class IdempotencyKey:
    scope: str
    key: str

    @property
    def key_hash(self) -> bytes:
        return hashlib.sha256(f"{self.scope}:{self.key}".encode()).digest()

    def _cipher(self) -> Fernet:
        secret = hashlib.sha256(f"rsolv-idempotency:{self.scope}:{self.key}".encode()).digest()
        return Fernet(base64.urlsafe_b64encode(secret))

    def seal(self, body: dict[str, Any]) -> bytes:
        return self._cipher().encrypt(json.dumps(body, sort_keys=True).encode())

    def open(self, sealed: bytes) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self._cipher().decrypt(sealed))
        return result


def request_fingerprint(payload: Any) -> bytes:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).digest()


async def lookup(
    connection: AsyncConnection, key: IdempotencyKey, fingerprint: bytes
) -> StoredResponse | None:
    """The stored answer for `key`, None if there is none, or IdempotencyKeyReused."""
    row = (
        (
            await connection.execute(
                select(idempotent_requests).where(
                    idempotent_requests.c.scope == key.scope,
                    idempotent_requests.c.key_hash == key.key_hash,
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    if row["request_hash"] != fingerprint:
        raise IdempotencyKeyReused(key.key)
    return StoredResponse(row["status_code"], key.open(row["response"]))


def stored_row(
    key: IdempotencyKey, fingerprint: bytes, response: StoredResponse, now: datetime
) -> dict[str, Any]:
    """The `idempotent_requests` row that remembers `response`, sealed with the key; it is
    written with the rows of the answer it remembers, so a concurrent twin fails on the key."""
    return {
        "scope": key.scope,
        "key_hash": key.key_hash,
        "request_hash": fingerprint,
        "status_code": response.status_code,
        "response": key.seal(response.body),
        "created_at": now,
    }


async def purge_older_than(connection: AsyncConnection, moment: datetime) -> int:
    result = await connection.execute(
        delete(idempotent_requests).where(idempotent_requests.c.created_at < moment)
    )
    return int(result.rowcount)
