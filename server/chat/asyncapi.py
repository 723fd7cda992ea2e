"""The AsyncAPI 3 document of ``/ws/chat``, generated from the frame Structs.

Payload schemas come from ``msgspec.json.schema_components`` over the client frames
(:data:`ClientFrame`) and the server's event catalogue (:data:`server.events.ServerFrame`), so
the document cannot drift from what the code decodes and sends.
"""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

import msgspec
from litestar import Request, get

from server.access import PUBLIC
from server.events import ServerFrame

from .schemas import ClientFrame

REF = "#/components/schemas/{name}"


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
def asyncapi_document(version: str = "0.1.0") -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document."""
    client, server = frame_types()
    (_, schemas) = msgspec.json.schema_components([*client, *server], ref_template=REF)
    messages: dict[str, Any] = {}
    for frame in [*client, *server]:
        event = event_of(frame)
        messages[_message_key(event)] = {
            "name": event,
            "title": event,
            "summary": (frame.__doc__ or event).strip(),
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

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Unified Assistant chat",
            "version": version,
            "description": (
                "JSON text frames {event, data, ref}. Authenticate with `Authorization: Bearer "
                "<access token>` or `?token=`; close codes 4401 (bad or missing token), 4403 "
                "(project not readable), 4408 (idle), 4429 (too many connections)."
            ),
        },
        "servers": {
            "default": {"host": "localhost:8000", "protocol": "ws", "pathname": "/ws/chat"}
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


@get("/asyncapi.json", opt=PUBLIC, operation_id="get_asyncapi", include_in_schema=False)
async def asyncapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The AsyncAPI 3 document of the WebSocket chat protocol."""
    return asyncapi_document(
        request.app.openapi_config.version if request.app.openapi_config else "0.1.0"
    )
