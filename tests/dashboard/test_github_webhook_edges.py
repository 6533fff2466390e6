"""POST /webhooks/github edge cases: configuration, size, headers, payloads, strangers."""

from __future__ import annotations

import json

from system.marketplace.signatures import sign
from tests.support import SystemUnderTest

SECRET = "edge-secret"


def _post(system: SystemUnderTest, body: bytes, **headers: str) -> object:
    base = {
        "X-GitHub-Event": "marketplace_purchase",
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": sign(SECRET, body),
    }
    base.update(headers)
    return system.client.post("/webhooks/github", content=body, headers=base)


def test_webhook_edges(system: SystemUnderTest) -> None:
    assert _post(system, b"{}").status_code == 503  # type: ignore[attr-defined]
    system.services.settings.github_webhook_secret = SECRET
    big = b"x" * (512 * 1024 + 1)
    assert _post(system, big).status_code == 413  # type: ignore[attr-defined]
    no_delivery = _post(system, b"{}", **{"X-GitHub-Delivery": ""})
    assert no_delivery.status_code == 400  # type: ignore[attr-defined]
    assert _post(system, b"{not json").status_code == 422  # type: ignore[attr-defined]
    assert _post(system, b'{"action": "bought"}').status_code == 422  # type: ignore[attr-defined]
    stranger = {
        "action": "cancelled",
        "marketplace_purchase": {
            "account": {"id": 5, "login": "ghost", "type": "User"},
            "plan": {"id": 1, "name": "Pro", "monthly_price_in_cents": 100},
        },
    }
    answer = _post(system, json.dumps(stranger).encode())
    assert answer.status_code == 200  # type: ignore[attr-defined]
    assert answer.json()["applied"] is False  # type: ignore[attr-defined]


def test_a_purchase_with_an_unusable_address_falls_back_to_githubs(
    system: SystemUnderTest,
) -> None:
    system.services.settings.github_webhook_secret = SECRET
    purchase = {
        "action": "purchased",
        "sender": {"login": "kit", "email": "kit@mailinator.com"},
        "marketplace_purchase": {
            "account": {"id": 77, "login": "kit", "type": "User"},
            "plan": {"id": 1, "name": "Free", "price_model": "FREE"},
        },
    }
    answer = _post(system, json.dumps(purchase).encode(), **{"X-GitHub-Delivery": "d-2"})
    assert answer.json()["applied"] is True  # type: ignore[attr-defined]
    me = system.client.get("/dashboard")  # not signed in: the login page
    assert me.status_code == 200
