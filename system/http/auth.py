"""API-key authentication plumbing: the key a request presents, the principal it names,
and the problem answers when it names none.

Which keys are valid is a pluggable backend's call (provisioning's `ApiKeyBackend`), run by
Starlette's `AuthenticationMiddleware` on the routes that take a key (`with_api_key`); this
module imports no domain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.authentication import AuthenticationBackend, AuthenticationError, BaseUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route

from system.http.problems import Problem


@dataclass(frozen=True)
class Principal(BaseUser):
    """The customer a valid API key acts for, and that key."""

    customer_id: str
    key_id: str

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.customer_id

    @property
    def identity(self) -> str:
        return self.key_id


class Refused(AuthenticationError):
    """A presented key that does not let the request in; carries the problem to answer."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail or problem.title)
        self.problem = problem


def presented_key(connection: HTTPConnection) -> str | None:
    """`Authorization: Bearer <key>`, else `X-Api-Key: <key>`."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return connection.headers.get("x-api-key") or None


def unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "Unauthorized",
        detail,
        slug="unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="rsolv"'},
    )


def on_refused(connection: HTTPConnection, error: AuthenticationError) -> Response:
    problem = error.problem if isinstance(error, Refused) else unauthorized(str(error))
    return problem.response(connection.url.path)


def principal_of(request: Request) -> Principal:
    """The request's principal, or a 401 Problem when it presented no key."""
    user = request.user
    if isinstance(user, Principal):
        return user
    raise unauthorized("An API key is required (Authorization: Bearer or X-Api-Key).")


def with_api_key(routes: Iterable[Route], backend: AuthenticationBackend) -> list[Route]:
    """The routes, each behind the authentication middleware with `backend`."""
    middleware = Middleware(AuthenticationMiddleware, backend=backend, on_error=on_refused)
    return [
        Route(
            route.path,
            route.endpoint,
            methods=route.methods,
            name=route.name,
            middleware=[middleware],
        )
        for route in routes
    ]
