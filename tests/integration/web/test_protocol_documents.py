"""The protocol documents a widget or client author reads: AsyncAPI for the socket, OpenAPI for
REST. Both complete enough to generate code from, and free of leftover reST markup."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

RST = re.compile(r"``|:(?:class|data|func|meth|attr):`")


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in methods
    ]


async def test_asyncapi_names_the_server_it_was_asked_from(
    client: AsyncTestClient[Litestar],
) -> None:
    document = (await client.get("/asyncapi.json", headers={"Host": "chat.example.org"})).json()
    assert document["servers"]["default"]["host"] == "chat.example.org"
    assert document["servers"]["default"]["protocol"] == "ws"
    assert "localhost:8000" not in json.dumps(document)


async def test_asyncapi_is_plain_markdown_and_says_when_deltas_are_sent(
    client: AsyncTestClient[Litestar],
) -> None:
    document = (await client.get("/asyncapi.json")).json()
    assert not RST.search(json.dumps(document))
    description = document["info"]["description"]
    assert "## When deltas are sent" in description
    assert "ticket" in description
    assert "?token=" not in description


async def test_asyncapi_payloads_are_typed_to_the_field(
    client: AsyncTestClient[Litestar],
) -> None:
    schemas = (await client.get("/asyncapi.json")).json()["components"]["schemas"]

    def untyped(name: str) -> list[str]:
        props = schemas[name]["properties"]
        return [
            k for k, v in props.items() if v == {"type": "object"} or ("$ref" not in v and not v)
        ]

    for entity in ("Phase", "Document", "Export", "Citation", "Usage", "Message"):
        assert entity in schemas, entity
        assert untyped(entity) == [], entity


async def test_every_operation_has_a_summary_and_its_error_responses(
    client: AsyncTestClient[Litestar],
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    missing = []
    for method, path, operation in _operations(schema):
        summary = operation.get("summary", "")
        if not summary or "\n" in summary or RST.search(summary):
            missing.append(f"{method} {path}: summary {summary!r}")
        errors = {s: r for s, r in operation["responses"].items() if s.startswith(("4", "5"))}
        if "500" not in errors:
            missing.append(f"{method} {path}: no 500")
        for status, response in errors.items():
            body = response.get("content", {}).get("application/json", {}).get("schema", {})
            if body != {"$ref": "#/components/schemas/ErrorBody"}:
                missing.append(f"{method} {path}: {status} is not the error shape")
    assert missing == []
    error_body = schema["components"]["schemas"]["ErrorBody"]
    assert {"code", "message"} <= set(error_body["required"])


async def test_protected_operations_document_401_and_project_routes_404(
    client: AsyncTestClient[Litestar],
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operations = {f"{m} {p}": o for m, p, o in _operations(schema)}
    assert "401" in operations["GET /api/v1/auth/me"]["responses"]
    assert "401" not in operations["GET /health"]["responses"]
    project = operations["GET /api/v1/projects/{project_id}/phases"]["responses"]
    assert {"401", "403", "404"} <= set(project)


async def test_the_upload_declares_its_multipart_body_and_chat_its_event_stream(
    client: AsyncTestClient[Litestar],
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    upload = schema["paths"]["/api/v1/documents"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": "A PDF, DOCX or Markdown file.",
    }
    assert set(form["required"]) == {"file", "project_id"}
    assert {"413", "415"} <= set(upload["responses"])
    stream = schema["paths"]["/api/v1/chat/sessions/{session_id}/messages"]["post"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
