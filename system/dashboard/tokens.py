"""Tokens for the dashboard (pure): CSRF tokens and magic-link tokens with their hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

TOKEN_BYTES = 32


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def same(expected: str | None, presented: str | None) -> bool:
    """Constant-time equality for a CSRF token; False when either is missing."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def hash_token(token: str) -> bytes:
    """What is stored for a magic link: the token's SHA-256, never the token."""
    return hashlib.sha256(token.encode()).digest()


def link_usable(
    *, expires_at: datetime, used_at: datetime | None, now: datetime
) -> tuple[bool, str | None]:
    """(usable, why not) for a stored magic link."""
    if used_at is not None:
        return False, "This sign-in link has been used already."
    if now >= expires_at:
        return False, "This sign-in link has expired."
    return True, None
