"""The JavaScript client's TypeScript types are generated from the AsyncAPI document: the
committed ``protocol.d.ts`` must be what the generator makes of today's server code."""

from __future__ import annotations

import importlib.util
import re
from typing import TYPE_CHECKING

from server.chat.asyncapi import asyncapi_document
from tests.conftest import ROOT

if TYPE_CHECKING:
    from types import ModuleType

CLIENT_DIR = ROOT / "clients" / "js"


def _codegen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("codegen", CLIENT_DIR / "codegen.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_protocol_types_match_the_asyncapi_document() -> None:
    expected = _codegen().generate(asyncapi_document())
    committed = (CLIENT_DIR / "src" / "protocol.d.ts").read_text()
    assert committed == expected, "run: uv run python clients/js/codegen.py"


def test_every_server_event_is_typed() -> None:
    committed = (CLIENT_DIR / "src" / "protocol.d.ts").read_text()
    server_events = re.search(r"export interface ServerEvents \{(.*?)\}", committed, re.S)
    assert server_events is not None
    typed = set(re.findall(r'"([a-z]+:[a-z_]+)"', server_events.group(1)))
    document = asyncapi_document()
    messages = document["operations"]["sendServerFrames"]["messages"]
    catalogue = document["components"]["messages"]
    names = {catalogue[m["$ref"].rsplit("/", 1)[-1]]["name"] for m in messages}
    assert typed == names
