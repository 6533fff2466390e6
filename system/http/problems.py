"""RFC 9457 problem details: the one shape of every error the API answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """Raised anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        slug: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.headers = headers
        self.extensions = extensions

    def response(self, instance: str | None = None) -> JSONResponse:
        body: dict[str, Any] = {
            "type": f"/problems/{self.slug}" if self.slug else "about:blank",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        return JSONResponse(body, self.status, headers=self.headers, media_type=PROBLEM_JSON)


async def handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response(request.url.path)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in {204, 304}:
        return Response(status_code=exc.status_code, headers=exc.headers)
    title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "Error")
    return Problem(exc.status_code, title, str(exc.detail), headers=exc.headers).response(
        request.url.path
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    return Problem(500, "Internal Server Error", "An unexpected error occurred.").response(
        request.url.path
    )


async def handle_unavailable(request: Request, exc: Exception) -> Response:
    """A dependency that did not answer (the database dropped, refused or timed out): 503
    with Retry-After, never a 500 and never the driver's words."""
    return Problem(
        503,
        "Service Unavailable",
        "The service is briefly unavailable; please try again shortly.",
        slug="unavailable",
        headers={"Retry-After": "2"},
    ).response(request.url.path)
