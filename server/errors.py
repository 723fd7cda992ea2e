"""Every error leaves the server as JSON ``{code, message}``: a stable code, the right status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from advanced_alchemy.exceptions import DuplicateKeyError, NotFoundError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from server.observability import REQUEST_ID_HEADER, request_id_of

if TYPE_CHECKING:
    from litestar.types import ExceptionHandlersMap

logger = structlog.get_logger()

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}
_INTERNAL_MESSAGE = "the server failed to handle this request; it has been logged"


class AppError(HTTPException):
    """An error meant for the client: a status, a stable code and a plain message."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail=message, status_code=status_code, headers=headers, extra=extra)
        self.code = code or CODES.get(status_code, "error")


def not_found(what: str = "resource") -> AppError:
    """404 for anything the caller may not know exists."""
    return AppError(404, f"{what} not found")


def forbidden(message: str = "you may not do this") -> AppError:
    """403 for something the caller can see but not change."""
    return AppError(403, message)


def unauthorized(message: str = "authentication required") -> AppError:
    """401 with the bearer challenge."""
    return AppError(401, message, headers={"WWW-Authenticate": "Bearer"})


def conflict(message: str, **extra: Any) -> AppError:
    """409 with whatever the client needs to resolve it."""
    return AppError(409, message, extra=extra or None)


def rate_limited(retry_after: int) -> AppError:
    """429 with ``Retry-After`` in seconds."""
    return AppError(
        429,
        f"too many requests; retry in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
        extra={"retry_after": retry_after},
    )


def _body(code: str, message: str, extra: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if isinstance(extra, dict):
        body.update({k: v for k, v in extra.items() if k not in body})
    elif extra:
        body["detail"] = extra
    return body


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = exc.code if isinstance(exc, AppError) else CODES.get(exc.status_code, "error")
    status = exc.status_code
    message = exc.detail
    extra: Any = exc.extra
    if isinstance(exc, ValidationException):
        status, code = 422, "invalid"
        message = "the request is malformed or has invalid fields"
        if "malformed" in str(exc.detail).lower() or "json" in str(exc.detail).lower():
            status, code, message = (
                400,
                "bad_request",
                f"the request body is not valid: {exc.detail}",
            )
    if isinstance(exc, NotAuthorizedException) and not isinstance(exc, AppError):
        message = exc.detail or "authentication required"
    if status >= HTTP_500_INTERNAL_SERVER_ERROR and not isinstance(exc, AppError):
        # Framework 5xx (e.g. a misconfiguration) carry internals in their detail: log, not send.
        logger.error("server error", path=request.url.path, status=status, detail=exc.detail)
        code, message, extra = CODES.get(status, "internal"), _INTERNAL_MESSAGE, None
    return _response(request, _body(code, message, extra), status, exc.headers)


def _not_found(request: Request[Any, Any, Any], exc: NotFoundError) -> Response[Any]:
    return _response(request, _body("not_found", "resource not found"), 404)


def _duplicate(request: Request[Any, Any, Any], exc: DuplicateKeyError) -> Response[Any]:
    return _response(request, _body("conflict", "it already exists"), 409)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception("unhandled error", path=request.url.path, exc_info=exc)
    return _response(request, _body("internal", _INTERNAL_MESSAGE), HTTP_500_INTERNAL_SERVER_ERROR)


def _response(
    request: Request[Any, Any, Any],
    body: dict[str, Any],
    status: int,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """The JSON error response, with the request id even where no middleware ran (no route)."""
    return Response(
        body,
        status_code=status,
        headers={**(headers or {}), REQUEST_ID_HEADER: request_id_of(request.scope)},
        media_type=MediaType.JSON,
    )


exception_handlers: ExceptionHandlersMap = {
    HTTPException: _http_error,
    NotFoundError: _not_found,
    DuplicateKeyError: _duplicate,
    Exception: _internal,
}
