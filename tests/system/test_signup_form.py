"""The HTML signup form: errors are shown on the form, nothing is half made."""

from __future__ import annotations

from tests.support import SystemUnderTest


def test_invalid_fields_are_listed_on_the_form(system: SystemUnderTest) -> None:
    response = system.client.post("/signup", data={"email": "a@example.com", "name": ""})
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert "name: Field required" in response.text
    assert 'value="a@example.com"' in response.text


def test_a_disposable_address_is_explained(system: SystemUnderTest) -> None:
    response = system.client.post("/signup", data={"email": "x@mailinator.com", "name": "X"})
    assert response.status_code == 422
    assert "disposable" in response.text


def test_a_duplicate_is_explained(system: SystemUnderTest) -> None:
    first = system.client.post("/signup", data={"email": "d@example.com", "name": "D"})
    assert first.status_code == 201
    assert first.headers["cache-control"] == "no-store"
    again = system.client.post("/signup", data={"email": "D@example.com", "name": "D"})
    assert again.status_code == 409
    assert "exists already" in again.text
