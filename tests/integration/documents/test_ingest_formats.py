"""Files read right end to end over HTTP: warnings on the document, macro-enabled Word files,
right-to-left text found by search; and the ingest job's shared pieces (parser pool, shared
embedding batches, one registry per config.json)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from providers import WordLlamaEmbedder
from server.documents.batching import EmbeddingBatcher
from server.documents.embedders import configured_embedder
from tests.unit.ingest._files import debris_pdf, raw_docx

from .conftest import corpus, upload, wait_done

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient


async def test_a_pdf_with_unreadable_pages_completes_with_a_warning(
    client: AsyncTestClient[Litestar], make_account: Any, make_project: Any
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    created = (
        await upload(client, owner, project_id, "terns.pdf", debris_pdf(with_text_page=True))
    ).json()
    document = await wait_done(client, owner, created["id"])
    assert document["status"] == "completed", document
    (warning,) = document["warnings"]
    assert "1 of 2 pages (2)" in warning
    listed = await client.get(f"/api/v1/projects/{project_id}/documents", headers=owner.headers)
    assert listed.json()[0]["warnings"] == [warning]
    chunks = (
        await client.get(f"/api/v1/documents/{created['id']}/chunks", headers=owner.headers)
    ).json()
    assert [c["text"] for c in chunks] == ["The survey found nesting terns on the east spit."]

    only_debris = await upload(
        client, owner, project_id, "debris.pdf", debris_pdf(with_text_page=False)
    )
    failed = await wait_done(client, owner, only_debris.json()["id"])
    assert (failed["status"], failed["error_code"]) == ("failed", "no_text")
    assert "character map" in failed["error"]
    assert failed["warnings"] == []


async def test_a_macro_enabled_word_file_is_indexed_with_its_tracked_insertions(
    client: AsyncTestClient[Litestar], make_account: Any, make_project: Any
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    body = (
        b'<w:p><w:r><w:t xml:space="preserve">The harbour master is </w:t></w:r>'
        b'<w:del w:id="1" w:author="A"><w:r><w:delText>Jones</w:delText></w:r></w:del>'
        b'<w:ins w:id="2" w:author="A"><w:r><w:t>Quillfeather</w:t></w:r></w:ins></w:p>'
    )
    data = raw_docx(body, main_type=b"application/vnd.ms-word.document.macroEnabled.main+xml")
    created = (await upload(client, owner, project_id, "minutes.docm", data)).json()
    assert created["kind"] == "docx"
    document = await wait_done(client, owner, created["id"])
    assert document["status"] == "completed", document
    found = await client.post(
        "/api/v1/search",
        headers=owner.headers,
        json={"project_id": str(project_id), "query": "Quillfeather", "mode": "keyword"},
    )
    (hit,) = found.json()["hits"]
    assert hit["text"] == "The harbour master is Quillfeather"


async def test_arabic_is_searchable_in_logical_order(
    client: AsyncTestClient[Litestar], make_account: Any, make_project: Any
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    data = corpus("pdf", "sf_habibi-arabic.pdf")
    created = (await upload(client, owner, project_id, "habibi.pdf", data)).json()
    assert (await wait_done(client, owner, created["id"]))["status"] == "completed"
    found = await client.post(
        "/api/v1/search",
        headers=owner.headers,
        json={"project_id": str(project_id), "query": "حَبيبي", "mode": "keyword"},
    )
    hits = found.json()["hits"]
    assert hits, found.text
    assert "حَبيبي" in hits[0]["text"]


class _Counting:
    """The real local embedder, counting the calls it receives."""

    def __init__(self) -> None:
        self.inner = WordLlamaEmbedder()
        self.provider, self.model, self.dimensions = (
            "local",
            self.inner.model,
            self.inner.dimensions,
        )
        self.calls: list[int] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(len(texts))
        return await self.inner.embed(texts)


async def test_concurrent_documents_share_embedding_calls() -> None:
    embedder = _Counting()
    batcher = EmbeddingBatcher(max_batch=64, wait_s=0.02)
    requests = [[f"note {n} about the harbour", f"second chunk {n}"] for n in range(40)]
    results = await asyncio.gather(*(batcher.embed(embedder, texts) for texts in requests))
    alone = [await embedder.inner.embed(texts) for texts in requests]
    assert results == alone
    assert sum(embedder.calls) == 80
    assert len(embedder.calls) <= 3  # 40 documents, 80 texts: two batches (64 + 16)


async def test_ingest_jobs_reuse_the_registry_until_config_changes(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"providers": {"local": {"type": "local"}}}')
    from server.documents import embedders  # noqa: PLC0415 - the cache under test

    loop = asyncio.get_running_loop()
    async with configured_embedder(config) as first, configured_embedder(config) as second:
        assert first.dimensions == second.dimensions
    entry = embedders._current[loop]
    async with configured_embedder(config) as again:
        assert embedders._current[loop] is entry  # the same registry, not a new one
    config.write_text(config.read_text())  # written again, same content: read, not rebuilt
    async with configured_embedder(config):
        assert embedders._current[loop] is entry
    config.write_text('{"providers": {"local": {"type": "local"}, "other": {"type": "local"}}}')
    async with configured_embedder(config) as changed:
        assert changed.dimensions == again.dimensions
    assert embedders._current[loop] is not entry
    assert entry.stale
    assert entry.users == 0
