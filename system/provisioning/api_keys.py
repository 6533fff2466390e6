"""API keys: generation, the stored hash, and verification (pure).

A key reads `rsolv_<env>_<lookup>_<secret>`. The prefix `rsolv_<env>_<lookup>` is stored in
clear to find the row; only the SHA-256 of the whole key is stored, compared in constant time.
The secret carries 256 bits of entropy, so a fast hash is the right one: nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

_ALPHABET = string.ascii_letters + string.digits
LOOKUP_LENGTH = 12
SECRET_LENGTH = 43  # 43 base62 characters: > 256 bits


@dataclass(frozen=True)
class IssuedKey:
    """A freshly made key: `plaintext` is shown to the customer once and never stored."""

    plaintext: str
    prefix: str
    key_hash: bytes


def _random(length: int) -> str:
    """`length` uniform base62 characters from one read of the OS's randomness (a
    `secrets.choice` per character cost a system call each: 6% of a signup's CPU)."""
    out: list[str] = []
    while len(out) < length:
        # bytes below 248 = 4 x 62 map uniformly onto the alphabet; the rest are dropped
        out.extend(_ALPHABET[b % 62] for b in secrets.token_bytes(length + 8) if b < 248)
    return "".join(out[:length])


def hash_key(plaintext: str) -> bytes:
    return hashlib.sha256(plaintext.encode()).digest()


def issue(environment: str = "test") -> IssuedKey:
    prefix = f"rsolv_{environment}_{_random(LOOKUP_LENGTH)}"
    plaintext = f"{prefix}_{_random(SECRET_LENGTH)}"
    return IssuedKey(plaintext=plaintext, prefix=prefix, key_hash=hash_key(plaintext))


def prefix_of(plaintext: str) -> str | None:
    """The lookup prefix of a presented key, or None when it is not shaped like one."""
    parts = plaintext.split("_")
    if len(parts) != 4 or parts[0] != "rsolv" or len(parts[2]) != LOOKUP_LENGTH:
        return None
    return "_".join(parts[:3])


def verify(plaintext: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_key(plaintext), stored_hash)
