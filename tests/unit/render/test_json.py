from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from render import (
    SCHEMA_VERSION,
    ExportDocument,
    decode_json_export,
    export_json_schema,
    render_json,
)

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "docs" / "export-schema.json"


@pytest.fixture(scope="module")
def schema() -> dict[str, object]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def test_documented_schema_matches_the_structs(schema: dict[str, object]) -> None:
    assert schema == export_json_schema(), (
        "docs/export-schema.json is out of date; regenerate it as docs/exports.md describes"
    )
    jsonschema.Draft202012Validator.check_schema(schema)


def test_export_validates_and_holds_the_whole_project(
    plan: ExportDocument, schema: dict[str, object]
) -> None:
    data = json.loads(render_json(plan))
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data["schema_version"] == SCHEMA_VERSION
    project = data["project"]
    assert project["metadata"]["Язык"] == "Русский"
    assert len(project["phases"]) == 14
    market = project["phases"][4]
    assert market["status"] == "stale"
    assert [v["number"] for v in market["versions"]] == [1, 2]
    assert market["versions"][0]["source"] == "assistant:openai/gpt-4o"
    assert [s["ref"] for s in market["sources"]] == ["S1", "S2", "S3"]
    assert project["phases"][12]["content"] == ""


def test_export_round_trips(plan: ExportDocument) -> None:
    assert decode_json_export(render_json(plan)).project == plan


def test_schema_rejects_an_unknown_status(plan: ExportDocument, schema: dict[str, object]) -> None:
    data = json.loads(render_json(plan))
    data["project"]["phases"][0]["status"] = "archived"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(data)
