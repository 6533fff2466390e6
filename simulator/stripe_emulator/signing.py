"""The ``Stripe-Signature`` scheme: ``t=<unix time>,v1=<HMAC-SHA256(secret, "t.payload")>``.

Owns only the signing, with no other import of the emulator's, so that clients that sign
webhooks themselves (the Locust webhook storm) use the emulator's own signer.
"""

from __future__ import annotations

import hashlib
import hmac
import time


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload`` (HMAC-SHA256 of ``"t.payload"``)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode(), b"%d." % t + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"
