"""One domain error for the whole server, and the one table of its codes.

Services raise :class:`DomainError` with a stable ``code`` and a sentence for the person; nothing
in a domain knows about HTTP. The exception handlers below turn it into ``{code, message, ...}``
with the status from :data:`STATUS`; the WebSocket turns the same error into a ``chat:error``
frame with the same code. Every other exception leaves the server as ``internal`` (logged, with
no internals sent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_args

import structlog
from advanced_alchemy.exceptions import DuplicateKeyError, IntegrityError, NotFoundError
from asyncpg import PostgresError
from asyncpg.exceptions import DataError as DriverDataError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

from server.observability import REQUEST_ID_HEADER, request_id_of

if TYPE_CHECKING:
    from litestar.types import ExceptionHandlersMap

__all__ = (
    "STATUS",
    "DomainError",
    "ErrorCode",
    "conflict",
    "domain_error_of",
    "exception_handlers",
    "forbidden",
    "invalid",
    "not_found",
    "rate_limited",
    "unauthorized",
)

logger = structlog.get_logger()

ErrorCode = Literal[
    "bad_request",
    "unauthorized",
    "token_reused",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "config_not_writable",
    "gone",
    "too_large",
    "unsupported_type",
    "invalid",
    "weak_password",
    "wrong_password",
    "not_an_answer",
    "unknown_template",
    "encrypted",
    "malformed",
    "no_text",
    "empty",
    "rate_limited",
    "internal",
    "provider_unavailable",
    "unavailable",
    "budget_exceeded",
]
"""Every error code a client can meet, over HTTP and in ``chat:error`` frames."""

STATUS: dict[ErrorCode, int] = {
    "bad_request": 400,
    "unauthorized": 401,
    "token_reused": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "config_not_writable": 409,
    "gone": 410,
    "too_large": 413,
    "unsupported_type": 415,
    "invalid": 422,
    "weak_password": 422,
    "wrong_password": 422,
    "not_an_answer": 422,
    "unknown_template": 422,
    "encrypted": 422,
    "malformed": 422,
    "no_text": 422,
    "empty": 422,
    "rate_limited": 429,
    "internal": 500,
    "provider_unavailable": 503,
    "unavailable": 503,
    "budget_exceeded": 402,
}
"""The HTTP status of each code: the one place a domain error meets HTTP."""
assert set(STATUS) == set(get_args(ErrorCode)), "every error code has exactly one status"

_BY_STATUS: dict[int, ErrorCode] = {
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
"""The code of a framework error that only has a status (routing, method, body parsing)."""
_INTERNAL_MESSAGE = "the server failed to handle this request; it has been logged"


class DomainError(Exception):
    """A rule of the domain refused something: a stable ``code``, a plain ``message``, and
    ``extra`` fields the client needs to act on it (e.g. ``retry_after``, ``current_version``).
    """

    def __init__(self, code: ErrorCode, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.extra = extra

    @property
    def retry_after(self) -> int | None:
        """Seconds to wait before trying again, for ``rate_limited``."""
        value = self.extra.get("retry_after")
        return value if isinstance(value, int) else None


def not_found(what: str = "resource") -> DomainError:
    """For anything the caller may not know exists."""
    return DomainError("not_found", f"{what} not found")


def forbidden(message: str = "you may not do this") -> DomainError:
    """For something the caller can see but not change."""
    return DomainError("forbidden", message)


def unauthorized(message: str = "authentication required") -> DomainError:
    """No valid credentials."""
    return DomainError("unauthorized", message)


def invalid(message: str) -> DomainError:
    """Well-formed input that breaks a rule of its fields."""
    return DomainError("invalid", message)


def conflict(message: str, **extra: Any) -> DomainError:
    """The current state does not allow it; ``extra`` carries what the client needs."""
    return DomainError("conflict", message, **extra)


def rate_limited(retry_after: int) -> DomainError:
    """Too many requests; ``retry_after`` in seconds."""
    return DomainError(
        "rate_limited", f"too many requests; retry in {retry_after} s", retry_after=retry_after
    )


POOL_BUSY_RETRY_S = 5
_NUL = "text may not contain NUL (\\u0000) characters"
_OUT_OF_RANGE = "a number is out of range (at most 2147483647)"
_CONCURRENT = "it was changed by another request at the same time; reload and try again"


def _sqlstate(exc: DBAPIError) -> str:
    """The SQLSTATE of a database error ('' for one raised by the driver itself)."""
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(state, str):
            return state
    return ""


def domain_error_of(exc: BaseException) -> DomainError | None:
    """The client's error hidden in an exception from below the domain, or None.

        Input the database refuses by its nature is the client's, not the server's: a data
        exception (SQLSTATE class 22: NUL in text, a number beyond 32 bits) is ``invalid``; an
        integrity violation (class 23, e.g. two concurrent writes of the same phase version) and a
        row changed or deleted under a concurrent update are ``conflict``; a JSON body nested past
        the decoder's depth is ``bad_request``; no database connection free within the pool's
    timeout is ``rate_limited``. The HTTP handler and the chat socket both use it.
    """
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, RecursionError):
        return DomainError("bad_request", "the input is nested too deeply")
    database = _database_error(exc)
    if database is not None:
        state, detail = database
        if state in {"22021", "22P05"} or "\\x00" in detail or "\\u0000" in detail:
            return invalid(_NUL)
        if state == "22003" or "out of int32 range" in detail or "out of int64 range" in detail:
            return invalid(_OUT_OF_RANGE)
        if state.startswith("22"):
            return invalid("a value is not valid for its field")
        if state.startswith("23"):
            return conflict(_CONCURRENT)
        if state == "42501" and "row-level security" in detail:
            # The application let through a write into another organisation and the
            # database's own policy stopped it: refuse, and say loudly that a check is missing.
            logger.error("row-level security refused a write", detail=detail)
            return forbidden("this belongs to another organisation")
    if isinstance(exc, StaleDataError | IntegrityError):
        return conflict(_CONCURRENT)
    if isinstance(exc, PoolTimeout):
        # Every database connection stayed busy for the whole pool timeout: an overload the
        # client can wait out, not a server fault.
        return rate_limited(POOL_BUSY_RETRY_S)
    return None


def _database_error(exc: BaseException) -> tuple[str, str] | None:
    """The SQLSTATE and message of the database error behind ``exc``, if any: SQLAlchemy's
    (advanced-alchemy wraps it as its own), or the driver's own for a statement sent on the
    driver's connection (:mod:`server.db.direct`; its state is '' when the driver refused a
    parameter before sending it)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, DBAPIError):
            return _sqlstate(seen), str(seen.orig)
        if isinstance(seen, PostgresError | DriverDataError):
            return getattr(seen, "sqlstate", "") or "", str(seen)
        seen = seen.__cause__
    return None


def _body(code: str, message: str, extra: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if isinstance(extra, dict):
        body.update({k: v for k, v in extra.items() if k not in body})
    elif extra:
        body["detail"] = extra
    return body


def _headers(error: DomainError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if STATUS[error.code] == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return headers


def _domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status = STATUS[exc.code]
    return _response(request, _body(exc.code, exc.message, exc.extra), status, _headers(exc))


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Errors raised by the framework itself (routing, parsing, validation, guards)."""
    status = exc.status_code
    code: str = _BY_STATUS.get(status, "internal")
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
    if isinstance(exc, NotAuthorizedException):
        message = exc.detail or "authentication required"
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        # Framework 5xx (e.g. a misconfiguration) carry internals in their detail: log, not send.
        logger.error("server error", path=request.url.path, status=status, detail=exc.detail)
        code, message, extra = _BY_STATUS.get(status, "internal"), _INTERNAL_MESSAGE, None
    return _response(request, _body(code, message, extra), status, exc.headers)


def _not_found(request: Request[Any, Any, Any], exc: NotFoundError) -> Response[Any]:
    return _response(request, _body("not_found", "resource not found"), 404)


def _duplicate(request: Request[Any, Any, Any], exc: DuplicateKeyError) -> Response[Any]:
    return _response(request, _body("conflict", "it already exists"), 409)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    known = domain_error_of(exc)
    if known is not None:
        return _domain_error(request, known)
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
    DomainError: _domain_error,
    HTTPException: _http_error,
    NotFoundError: _not_found,
    DuplicateKeyError: _duplicate,
    Exception: _internal,
}
