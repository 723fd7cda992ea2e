"""structlog, configured once: JSON lines unless stderr is a terminal, with the request id bound;
and the shape of one dependency's health as ``/status`` reports it."""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import TYPE_CHECKING, Literal

import msgspec
import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_SECRET_PARAM = re.compile(
    r"(?i)\b((?:access_|refresh_)?token|ticket|password|secret|api_key)=[^&\s\"']+"
)


def redact_query(text: str) -> str:
    """``text`` with the values of secret-looking query parameters replaced."""
    return _SECRET_PARAM.sub(r"\1=[redacted]", text)


def _redact(
    _logger: object, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Redact secrets in every string of a log line, whoever logged it.

    The server logs each WebSocket connection with its URL (uvicorn's "WebSocket /ws/chat?..."
    line), and a URL may carry a ticket or, from an old client, a token.
    """
    for key, value in event_dict.items():
        if isinstance(value, str) and "=" in value:
            event_dict[key] = redact_query(value)
    return event_dict


class Check(msgspec.Struct):
    """The state of one dependency (database, broker, providers, …)."""

    status: Literal["ok", "error", "disabled"]
    latency_ms: float | None = None
    detail: str | None = None


def configure_logging(debug: bool = False) -> None:
    """Route stdlib and structlog logs through one renderer."""
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    logging.captureWarnings(True)  # warnings become log lines too, not free text on stderr
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("uvicorn.access", "httpx", "httpcore", "pgserver", "dramatiq"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def request_id_of(scope: Scope) -> str:
    """The request's id: a sane incoming ``X-Request-ID`` or a new one, kept in the scope state.

    Middleware only runs for matched routes, so the error handlers call this too: a 404 for an
    unknown path carries an id as well.
    """
    state = scope.setdefault("state", {})
    request_id: str | None = state.get("request_id")
    if request_id is None:
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        state["request_id"] = request_id
    return request_id


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Accept a sane ``X-Request-ID`` or make one; bind it for logs and echo it back."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        if scope["type"] == ScopeType.WEBSOCKET:
            # A socket's frames carry no headers: its many sends go out untouched, and its
            # log lines still carry the id.
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                await app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await app(scope, receive, send_with_id)

    return middleware
