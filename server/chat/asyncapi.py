"""The AsyncAPI 3 document of ``/ws/chat``, generated from the frame Structs.

Payload schemas come from ``msgspec.json.schema_components`` over the client frames
(:data:`ClientFrame`) and the server's event catalogue (:data:`server.events.ServerFrame`), so
the document cannot drift from what the code decodes and sends.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, get_args

import msgspec
from litestar import Request, get

from server.access import PUBLIC
from server.events import ServerFrame

from .schemas import ClientFrame

REF = "#/components/schemas/{name}"
_RST_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_RST_LITERAL = re.compile(r"``([^`]+)``")

DESCRIPTION = """\
JSON text frames `{event, data, ref}` over one WebSocket. A client frame may carry a `ref` of its
own; the server's answer to it echoes that `ref`.

## Connecting
- Browsers: `POST /api/v1/auth/ws-ticket` (with the access token) returns a single-use ticket
  valid for about 30 seconds; open `/ws/chat?ticket=<ticket>`. The page's `Origin` must be the
  server's own or listed in `CORS_ORIGINS`.
- Other clients: send `Authorization: Bearer <access token>` with the handshake.
- Tokens are never accepted in the URL (URLs end up in logs).

Close codes: 4401 (missing, bad, expired or reused credentials), 4403 (origin not allowed, or a
project the user may not read), 4408 (idle), 4429 (too many connections for this user).

## Sessions and replay
`chat:join_session` without `session_id` creates a session; with it (and `after_seq`, the `seq`
of the last message the client has) it answers `chat:session_joined` with every stored message
after `after_seq`. Resending `chat:send_message` with the same `client_message_id` never stores a
second message or starts a second reply, so a client resends whatever was not acknowledged by a
`chat:message_received` carrying its `client_message_id`.

## When deltas are sent
While the assistant writes a reply, `chat:message_delta` frames carry its text in order, each
naming the reply's future `message_id`, to every client joined to the session at that moment.
Deltas are not stored and not replayed: a client that joins (or rejoins) in the middle of a reply
receives only the deltas sent after it joined. Every reply ends with one `chat:message_received`
holding the whole stored text (with `status` `complete`, `stopped`, `interrupted` or `failed`);
clients replace the streamed text with it. A reply finished while a client was away reaches it
through the replay of `chat:join_session` with `after_seq`.
"""


def plain_markdown(node: Any) -> Any:
    """The document with reST markup in descriptions turned into Markdown."""
    if isinstance(node, dict):
        return {
            key: _RST_LITERAL.sub(r"`\1`", _RST_ROLE.sub(r"`\1`", value))
            if key in {"description", "summary"} and isinstance(value, str)
            else plain_markdown(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [plain_markdown(item) for item in node]
    return node


def frame_types() -> tuple[list[type[msgspec.Struct]], list[type[msgspec.Struct]]]:
    """(client frames, server frames) as Struct classes, in protocol order."""
    return list(get_args(ClientFrame)), list(get_args(ServerFrame))


def event_of(frame: type[msgspec.Struct]) -> str:
    """The ``event`` tag of a frame class."""
    tag: str = frame.__struct_config__.tag  # type: ignore[assignment]
    return tag


def _message_key(event: str) -> str:
    return event.replace(":", "_")


@cache
def asyncapi_document(
    version: str = "0.1.0", host: str = "localhost:8000", protocol: str = "ws"
) -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document, its server at ``host`` (``ws`` or ``wss``)."""
    client, server = frame_types()
    (_, schemas) = msgspec.json.schema_components([*client, *server], ref_template=REF)
    messages: dict[str, Any] = {}
    for frame in [*client, *server]:
        event = event_of(frame)
        messages[_message_key(event)] = {
            "name": event,
            "title": event,
            "summary": " ".join((frame.__doc__ or event).split()),
            "contentType": "application/json",
            "payload": {"$ref": REF.format(name=frame.__name__)},
        }
    channel_messages = {key: {"$ref": f"#/components/messages/{key}"} for key in messages}

    def operation(action: str, frames: list[type[msgspec.Struct]], summary: str) -> dict[str, Any]:
        return {
            "action": action,
            "channel": {"$ref": "#/channels/chat"},
            "summary": summary,
            "messages": [
                {"$ref": f"#/channels/chat/messages/{_message_key(event_of(f))}"} for f in frames
            ],
        }

    document: dict[str, Any] = plain_markdown(
        {
            "asyncapi": "3.0.0",
            "info": {
                "title": "Unified Assistant chat",
                "version": version,
                "description": DESCRIPTION,
            },
            "servers": {
                "default": {
                    "host": host,
                    "protocol": protocol,
                    "pathname": "/ws/chat",
                    "description": "This server (the host the document was requested from).",
                }
            },
            "channels": {
                "chat": {"address": "/ws/chat", "messages": channel_messages},
            },
            "operations": {
                "receiveClientFrames": operation("receive", client, "Frames a client sends."),
                "sendServerFrames": operation("send", server, "Frames the server sends."),
            },
            "components": {"schemas": schemas, "messages": messages},
        }
    )
    return document


@get("/asyncapi.json", opt=PUBLIC, operation_id="get_asyncapi", include_in_schema=False)
async def asyncapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The AsyncAPI 3 document of the WebSocket chat protocol."""
    version = request.app.openapi_config.version if request.app.openapi_config else "0.1.0"
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    protocol = "wss" if request.url.scheme == "https" else "ws"
    return asyncapi_document(version, host, protocol)
