"""Stripe-style object ids (``prefix_`` + base62) drawn from a seedable RNG."""

from __future__ import annotations

import random

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# byte -> base62 char (bytes 248..255 wrap around: a negligible bias, fine for ids)
_TO_BASE62 = bytes(BASE62[i % 62].encode()[0] for i in range(256))

# Stripe's id body lengths vary by resource; unknown prefixes get 14.
LENGTHS: dict[str, int] = {"price": 24, "evt": 24, "req": 14, "acct": 16}


class IdGenerator:
    """Generates ids from an owned ``random.Random`` so seeded runs repeat."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def new(self, prefix: str, length: int | None = None) -> str:
        n = length or LENGTHS.get(prefix, 14)
        return prefix + "_" + self.rng.randbytes(n).translate(_TO_BASE62).decode()

    def token(self, alphabet: str, length: int) -> str:
        return "".join(self.rng.choices(alphabet, k=length))
