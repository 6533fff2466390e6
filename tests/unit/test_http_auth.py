"""The API-key plumbing (system/http/auth.py) with any backend: what reaches the route, and
the problem documents for no key and for a refused one."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from system.http.auth import Principal, Refused, principal_of, unauthorized, with_api_key
from system.http.problems import Problem, handle_problem


class KeysByName(AuthenticationBackend):
    """'good' is customer cus_1's key; 'bad' is refused; no key lets the route decide."""

    async def authenticate(
        self, connection: HTTPConnection
    ) -> tuple[AuthCredentials, Principal] | None:
        key = connection.headers.get("x-api-key")
        if key is None:
            return None
        if key == "good":
            return AuthCredentials(["api"]), Principal("cus_1", "key_1")
        raise Refused(unauthorized("The API key is not valid."))


async def whoami(request: Request) -> Response:
    principal = principal_of(request)
    return JSONResponse({"customer": principal.customer_id, "key": principal.identity})


def client() -> TestClient:
    app = Starlette(
        routes=with_api_key([Route("/me", whoami)], KeysByName()),
        exception_handlers={Problem: handle_problem},
    )
    return TestClient(app)


def test_a_valid_key_reaches_the_route_as_its_principal() -> None:
    response = client().get("/me", headers={"X-Api-Key": "good"})
    assert response.json() == {"customer": "cus_1", "key": "key_1"}


def test_no_key_is_a_401_problem_with_a_challenge() -> None:
    response = client().get("/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "required" in response.json()["detail"]


def test_a_refused_key_answers_the_backends_problem() -> None:
    response = client().get("/me", headers={"X-Api-Key": "bad"})
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key is not valid."
    assert response.json()["instance"] == "/me"
