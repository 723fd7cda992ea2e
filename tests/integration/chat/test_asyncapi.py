"""The AsyncAPI document names every event the code decodes or sends, with the same fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, get_args

import msgspec

from server.chat import ClientFrame, asyncapi_document
from server.chat.asyncapi import REF
from server.events import ServerFrame

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

PROTOCOL_CLIENT = {
    "chat:join_session",
    "chat:send_message",
    "chat:typing",
    "phase:goto",
    "phase:approve",
    "phase:regenerate",
    "chat:stop",
    "chat:feedback",
    "chat:leave_session",
}
PROTOCOL_SERVER = {
    "chat:session_created",
    "chat:session_joined",
    "chat:message_received",
    "chat:message_delta",
    "chat:typing_indicator",
    "phase:updated",
    "phase:stale",
    "document:updated",
    "export:updated",
    "chat:feedback_updated",
    "chat:error",
}


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _messages(doc: dict[str, Any], action: str) -> dict[str, dict[str, Any]]:
    [operation] = [o for o in doc["operations"].values() if o["action"] == action]
    found = {}
    for ref in operation["messages"]:
        key = ref["$ref"].rsplit("/", 1)[-1]
        assert doc["channels"]["chat"]["messages"][key] == {"$ref": f"#/components/messages/{key}"}
        message = doc["components"]["messages"][key]
        found[message["name"]] = message
    return found


def test_document_matches_the_tagged_unions() -> None:
    doc = asyncapi_document()
    assert doc["asyncapi"].startswith("3.")
    components = doc["components"]["schemas"]
    for action, union, protocol in (
        ("receive", ClientFrame, PROTOCOL_CLIENT),
        ("send", ServerFrame, PROTOCOL_SERVER),
    ):
        documented = _messages(doc, action)
        frames = get_args(union)
        tags = {f.__struct_config__.tag: f for f in frames}
        assert set(tags) == set(documented) == protocol
        _, expected = msgspec.json.schema_components(frames, ref_template=REF)
        for event, frame in tags.items():
            payload = _resolve(documented[event]["payload"], components)
            assert payload == expected[frame.__name__]
            assert payload["properties"]["event"] == {"enum": [event]}
            assert set(payload["properties"]) == {"event", "data", "ref"}
            data_schema = _resolve(payload["properties"]["data"], components)
            assert set(frame.__struct_fields__) == {"data", "ref"}
            assert set(data_schema.get("properties", {})) == _data_fields(frame)


def _data_fields(frame: type[msgspec.Struct]) -> set[str]:
    info = msgspec.inspect.type_info(frame)
    assert isinstance(info, msgspec.inspect.StructType)
    [data] = [f for f in info.fields if f.name == "data"]
    assert isinstance(data.type, msgspec.inspect.StructType)
    return {f.encode_name for f in data.type.fields}


async def test_document_is_served(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    assert response.json() == msgspec.to_builtins(asyncapi_document())
