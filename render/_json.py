"""JSON export: the whole project, versioned by a documented JSON Schema."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from render._model import ExportDocument

SCHEMA_VERSION: Literal[1] = 1
SCHEMA_ID = (
    "https://github.com/unified-assistant/unified-assistant/blob/main/docs/export-schema.json"
)


class JsonExport(msgspec.Struct, kw_only=True, frozen=True):
    """A JSON export of one project."""

    schema_version: Literal[1]
    generator: str
    project: ExportDocument


def render_json(doc: ExportDocument) -> bytes:
    """Encode the whole project (phases, current text, every version, metadata) as JSON."""
    export = JsonExport(schema_version=SCHEMA_VERSION, generator="unified-assistant", project=doc)
    return msgspec.json.format(msgspec.json.encode(export), indent=2) + b"\n"


def decode_json_export(data: bytes) -> JsonExport:
    """Read a JSON export back, validating it against the same structs that wrote it."""
    return msgspec.json.decode(data, type=JsonExport)


def export_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a JSON export, as kept in docs/export-schema.json."""
    schema = msgspec.json.schema(JsonExport)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Unified Assistant project export",
        **schema,
    }
