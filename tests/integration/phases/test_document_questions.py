"""Answers to questions about an uploaded document, offline: the sentence that answers the query
is quoted (ranked by the query's words, rarer ones weighing more), inside the chunk it cites,
with citations numbered from S1 and matching the text exactly."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT
from tests.integration.chat.conftest import open_client

from .conftest import reply_of
from .test_model_conversation import upload

if TYPE_CHECKING:
    from .conftest import Walker

CASES = ROOT.parent / "shared" / "corpora" / "docx" / "poi_IllustrativeCases.docx"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MARKER = re.compile(r"\[(S\d+)\]")


@pytest.mark.skipif(not CASES.is_file(), reason="shared corpora not present")
async def test_a_question_about_a_document_quotes_the_sentence_that_answers_it(
    walker: Walker,
) -> None:
    project = await walker.project()
    document = await upload(walker.http, project, CASES, DOCX)
    r = await walker.http.get(f"/api/v1/documents/{document}/chunks", params={"limit": 500})
    chunks = {c["id"]: " ".join(c["text"].split()) for c in r.json()}
    async with open_client(walker.served.ws, walker.who.token) as ws:
        await ws.join(project)
        await ws.send("chat:send_message", {"content": "Hello", "client_message_id": "a"})
        await ws.until_reply()
        await ws.send(
            "chat:send_message",
            {"content": "How much will Patrick gain?", "client_message_id": "b"},
        )
        reply = reply_of(await ws.until_reply())
    content = reply["content"]
    # The first quotation is Patrick's, with the sentence naming him before the one answering.
    first = content.split("[S1]")[0]
    assert "Patrick is single" in first, content
    assert "He will gain €825 from the Budget." in first, content
    # Citations: dense from S1 in order of first use, exactly those of the text.
    used = list(dict.fromkeys(MARKER.findall(content)))
    assert used == [f"S{n}" for n in range(1, len(used) + 1)]
    assert [c["ref"] for c in reply["citations"]] == used
    # Each quoted sentence is inside the chunk its citation names.
    for citation in reply["citations"]:
        quoted = re.search(rf"> (.+?) \[{citation['ref']}\]", content)
        assert quoted is not None
        assert quoted.group(1) in chunks[citation["chunk_id"]]
