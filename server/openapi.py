"""The OpenAPI document, completed in one place rather than in every controller.

For every operation: a one-line summary (the first line of the handler's docstring) and the
whole docstring as its description; the error responses it can give, each with the one error
shape ``{code, message}`` every error has (statuses follow from the route's access rule, its
parameters and body, plus the few listed in :data:`EXTRA_ERRORS`); and the bodies Litestar
cannot see: the multipart upload (the handler streams it itself) and the SSE stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from litestar.constants import RESERVED_KWARGS
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.routes import HTTPRoute

from server.errors import ErrorCode

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.handlers import HTTPRouteHandler


class ErrorBody(msgspec.Struct):
    """Every error answer: a stable ``code``, a sentence for people, and sometimes more fields
    (``retry_after`` with ``rate_limited``, the offending field with ``invalid``)."""

    code: ErrorCode
    message: str
    retry_after: int | None = None


_MEANING = {
    400: "The request could not be read, e.g. its body is not valid JSON (`bad_request`).",
    401: "No valid access token (`unauthorized`).",
    403: "Signed in, but this role may not do this (`forbidden`).",
    404: "No such resource, or a project the caller is not a member of (`not_found`).",
    409: "The resource is not in a state that allows this (`conflict`).",
    410: "The resource existed but is gone (`gone`).",
    413: "The upload is over the size limit (`too_large`).",
    415: "The file's content is not a supported type (`unsupported_type`).",
    422: "A field is missing or invalid (`invalid` and more specific codes).",
    429: "Too many attempts; retry after `retry_after` seconds (`rate_limited`).",
    500: "The server failed; the request id in `X-Request-ID` finds it in the logs (`internal`).",
    503: "A dependency (AI providers, database, broker) is unavailable.",
}

EXTRA_ERRORS: dict[str, set[int]] = {
    "login": {429},
    "register": {409, 429},
    "refresh_token": {429},
    "upload_document": {413, 415},
    "download_export": {409, 410},
    "accept_invitation": {409, 410},
    "send_chat_message": {429, 503},
    "search": {503},
    "set_active_profile": {409},
}
"""Statuses an operation gives beyond those its access rule and inputs imply."""

_MULTIPART = RequestBody(
    required=True,
    description="The file and the project it belongs to.",
    content={
        "multipart/form-data": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["file", "project_id"],
                properties={
                    "file": Schema(
                        type=OpenAPIType.STRING,
                        format="binary",  # type: ignore[arg-type]
                        description="A PDF, DOCX or Markdown file.",
                    ),
                    "project_id": Schema(
                        type=OpenAPIType.STRING,
                        format="uuid",  # type: ignore[arg-type]
                        description="The project to add it to (editor role or above).",
                    ),
                },
            )
        )
    },
)
_BODIES = {"upload_document": _MULTIPART}
_STREAMS = {"send_chat_message"}


@dataclass
class _UploadOperation(Operation):
    """An operation whose body the handler reads itself: declare it for Swagger and generators."""

    def __post_init__(self) -> None:
        if self.request_body is None and isinstance(self.operation_id, str):
            self.request_body = _BODIES.get(self.operation_id)


def openapi_config(version: str) -> OpenAPIConfig:
    """The OpenAPI settings: ``/schema`` with Swagger, handler docstrings as descriptions."""
    return OpenAPIConfig(
        title="Unified Assistant",
        version=version,
        path="/schema",
        render_plugins=[SwaggerRenderPlugin()],
        use_handler_docstrings=True,
        description=(
            "REST API of Unified Assistant. Authenticate with `Authorization: Bearer <access "
            "token>` (from `POST /api/v1/auth/login`). Every error is JSON `{code, message}` "
            "with a stable `code`. The chat's WebSocket protocol is described at /asyncapi.json."
        ),
    )


def _has_inputs(handler: HTTPRouteHandler, path: str) -> bool:
    """Whether the caller sends anything that can be invalid: a body, path or query values."""
    provided = set(handler.resolve_dependencies()) | RESERVED_KWARGS
    names = set(handler.parsed_fn_signature.parameters) - {"self"}
    return "{" in path or bool(names - provided) or "data" in names


def _error_statuses(handler: HTTPRouteHandler, path: str) -> set[int]:
    access = str(handler.opt.get("access", ""))
    statuses = {500}
    if access != "public":
        statuses.add(401)
    if access == "admin" or access.startswith("project:"):
        statuses.add(403)
    if "{" in path or "project_of" in handler.opt:
        statuses.add(404)
    if _has_inputs(handler, path) or handler.operation_id in _BODIES:
        statuses |= {400, 422}
    return statuses | EXTRA_ERRORS.get(str(handler.operation_id), set())


def _summary(handler: HTTPRouteHandler) -> str | None:
    doc = (handler.fn.__doc__ or "").strip()
    if not doc:
        return None
    first = doc.split("\n\n", 1)[0]
    return " ".join(line.strip() for line in first.splitlines()).replace("``", "`")


def complete_openapi(app: Litestar) -> None:
    """Add summaries, error responses and undeclared bodies to every operation of ``app``.

    Runs once, after the routes are registered and before the document is first generated.
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            if handler.summary is None:
                handler.summary = _summary(handler)
            responses: dict[int, ResponseSpec] = {
                status: ResponseSpec(
                    data_container=ErrorBody,
                    description=_MEANING.get(status, "Error."),
                    generate_examples=False,
                )
                for status in sorted(_error_statuses(handler, route.path))
            }
            if handler.operation_id in _STREAMS:
                responses[handler.status_code] = ResponseSpec(
                    data_container=str,
                    media_type="text/event-stream",
                    description=(
                        "Server-sent events, one per chat event: `event:` is its name (as on "
                        "the WebSocket), `data:` its JSON data."
                    ),
                    generate_examples=False,
                )
            handler.responses = {**responses, **(handler.responses or {})}
            if handler.operation_id in _BODIES:
                handler.operation_class = _UploadOperation
