"""Driving the dashboard's HTML forms in tests: CSRF tokens from the pages, sign-in."""

from __future__ import annotations

import re
from typing import Any

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: Any, path: str = "/dashboard/login") -> str:
    page = client.get(path)
    match = CSRF.search(page.text)
    assert match, page.text
    return match.group(1)


def post(
    client: Any, path: str, data: dict[str, Any] | None = None, page: str | None = None
) -> Any:
    """Submit a form the way a browser does: with the token from a page of the site."""
    token = csrf(client, page or "/dashboard/login")
    return client.post(path, data={**(data or {}), "csrf_token": token}, follow_redirects=False)


def sign_up(client: Any, email: str, name: str = "Dev", **extra: str) -> Any:
    response = post(client, "/dashboard/signup", {"email": email, "name": name, **extra})
    assert response.status_code == 201, response.text
    return response


def api_signup(client: Any, email: str) -> dict[str, Any]:
    response = client.post("/api/v1/customers/onboard", json={"email": email, "name": "Dev"})
    assert response.status_code == 201, response.text
    return dict(response.json())


def key_of(page: str) -> str:
    match = re.search(r'id="new-key">([^<]+)<', page)
    assert match, page
    return match.group(1)
