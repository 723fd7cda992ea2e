"""Documents over HTTP the way a client uses them: upload real files, wait for the worker,
search for what was planted, and the access rules between users and projects."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
import pytest
from litestar.channels import ChannelsPlugin
from sqlalchemy import func, select

from server.db.models import Chunk, Document, Job
from server.documents.retrieval import search
from server.documents.storage import file_store
from server.events import project_channel
from server.settings import MIB, DocumentSettings

from .conftest import corpus, docx_with_facts, pdf_with_facts, upload, wait_done

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient
    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder
    from server.settings import Settings

FACT_PAGE = "The secret launch code of Project Bluefin is TANGERINE-4471."


async def test_pdf_upload_is_processed_and_its_planted_fact_is_found(
    client: AsyncTestClient[Litestar],
    db: AsyncSession,
    make_account: Any,
    make_project: Any,
    settings: Settings,
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    data = pdf_with_facts(["Preface about nothing in particular.", FACT_PAGE, "Appendix."])
    response = await upload(client, owner, project_id, "plan.pdf", data)
    assert response.status_code == 202, response.text
    created = response.json()
    assert created["status"] == "uploaded"
    assert created["kind"] == "pdf"
    assert created["sha256"] == hashlib.sha256(data).hexdigest()
    stored = file_store(settings.app.data_dir).path_for(created["sha256"])
    assert stored.read_bytes() == data
    assert "plan" not in str(stored)

    document = await wait_done(client, owner, created["id"])
    assert document["status"] == "completed", document
    assert (document["page_count"], document["pages_done"]) == (3, 3)
    assert document["chunks_done"] == document["chunks_total"] > 0
    # Its job was completed by the transaction that completed the document (the same now()).
    job = (await db.execute(select(Job).where(Job.target_id == UUID(created["id"])))).scalar_one()
    assert job.status == "completed"
    assert job.finished_at == datetime.fromisoformat(document["updated_at"])

    for mode in ("keyword", "vector", "hybrid"):
        found = await client.post(
            "/api/v1/search",
            headers=owner.headers,
            json={"project_id": str(project_id), "query": "Bluefin launch code", "mode": mode},
        )
        assert found.status_code == 200, found.text
        hits = found.json()["hits"]
        assert hits, mode
        assert "TANGERINE-4471" in hits[0]["text"], (mode, hits[0])
        assert hits[0]["document_id"] == created["id"]
        assert hits[0]["filename"] == "plan.pdf"
        assert hits[0]["page"] <= 2 <= (hits[0]["page_end"] or hits[0]["page"])

    chunks = await client.get(f"/api/v1/documents/{created['id']}/chunks", headers=owner.headers)
    assert chunks.status_code == 200
    assert [c["ordinal"] for c in chunks.json()] == list(range(document["chunks_total"]))

    listed = await client.get(f"/api/v1/projects/{project_id}/documents", headers=owner.headers)
    assert [d["id"] for d in listed.json()] == [created["id"]]

    again = await upload(client, owner, project_id, "renamed-copy.pdf", data)
    assert again.status_code == 200
    assert again.json()["id"] == created["id"]


async def test_the_same_bytes_uploaded_at_once_make_one_document(
    client: AsyncTestClient[Litestar], make_account: Any, make_project: Any, db: AsyncSession
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    data = b"# Harbour survey\n\nThe pier was inspected on the ninth of March.\n"
    answers = await asyncio.gather(
        *(upload(client, owner, project_id, f"copy-{n}.md", data) for n in range(6))
    )
    # One upload made the document; the others were told it exists (none failed).
    assert sorted(a.status_code for a in answers) == [200] * 5 + [202], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    stored = await db.scalar(select(func.count()).where(Document.project_id == project_id))
    assert stored == 1
    jobs = await db.scalar(
        select(func.count()).where(Job.target_id == UUID(answers[0].json()["id"]))
    )
    assert jobs == 1


async def test_docx_and_markdown_are_searchable_with_headings(
    client: AsyncTestClient[Litestar], make_account: Any, make_project: Any
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    docx = docx_with_facts(
        {
            "Market": "Our market is small but loyal.",
            "Suppliers": "Our only supplier of saffron is the Quixhill cooperative in Valdora.",
        }
    )
    markdown = b"# Team\n\n## Founders\n\nThe chief baker is Imelda Fortescue-Brandt.\n"
    ids = []
    # The client's names and types lie; the server decides by content.
    for name, data in (("notes.txt", docx), ("photo.jpg", markdown)):
        response = await upload(client, owner, project_id, name, data, "image/jpeg")
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    kinds = [(await wait_done(client, owner, i))["kind"] for i in ids]
    assert kinds == ["docx", "markdown"]

    for query, needle, heading in (
        ("saffron supplier", "Quixhill", "Suppliers"),
        ("who is the chief baker", "Fortescue-Brandt", "Founders"),
    ):
        found = await client.post(
            "/api/v1/search",
            headers=owner.headers,
            json={"project_id": str(project_id), "query": query, "k": 3},
        )
        hit = found.json()["hits"][0]
        assert needle in hit["text"]
        assert heading in hit["heading_path"]


@pytest.mark.parametrize(
    ("parts", "needle", "query"),
    [
        (("pdf", "pdfjs_tracemonkey.pdf"), "trace", "trace trees type specialization"),
        (("docx", "poi_heading123.docx"), "", "lorem ipsum heading"),
        (("md", "mammoth.js_README.md"), "docx", "convert docx to HTML style map"),
    ],
)
async def test_real_world_files_are_indexed(
    parts: tuple[str, str],
    needle: str,
    query: str,
    client: AsyncTestClient[Litestar],
    make_account: Any,
    make_project: Any,
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    response = await upload(client, owner, project_id, parts[-1], corpus(*parts))
    assert response.status_code == 202, response.text
    document = await wait_done(client, owner, response.json()["id"])
    assert document["status"] == "completed", document
    found = await client.post(
        "/api/v1/search",
        headers=owner.headers,
        json={"project_id": str(project_id), "query": query, "k": 5},
    )
    hits = found.json()["hits"]
    assert hits
    assert needle.lower() in hits[0]["text"].lower()


async def test_broken_real_world_file_ends_failed_with_a_reason(
    client: AsyncTestClient[Litestar], make_account: Any, make_project: Any
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    response = await upload(
        client, owner, project_id, "x.pdf", corpus("pdf", "pdfjs_bug1020226.pdf")
    )
    assert response.status_code == 202
    document = await wait_done(client, owner, response.json()["id"])
    assert (document["status"], document["error_code"]) == ("failed", "malformed")
    assert document["error"]


class TestWithOneMiBUploads:
    """Uploads limited to 1 MiB (``MAX_UPLOAD_MB=1``)."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return replace(settings, documents=DocumentSettings(max_upload_bytes=MIB))

    async def test_type_is_judged_by_content_and_size_is_limited(
        self,
        client: AsyncTestClient[Litestar],
        make_account: Any,
        make_project: Any,
        settings: Settings,
    ) -> None:
        owner = await make_account()
        project_id = await make_project({owner.id: "owner"})
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
        refused = await upload(client, owner, project_id, "report.pdf", png, "application/pdf")
        assert refused.status_code == 415
        assert refused.json()["code"] == "unsupported_type"

        big = b"# Big\n\n" + b"word " * 300_000
        too_big = await upload(client, owner, project_id, "big.md", big)
        assert too_big.status_code == 413
        assert too_big.json()["code"] == "too_large"
        files = Path(settings.app.data_dir) / "files"
        assert not [p for p in files.rglob("*") if p.is_file()]


async def test_access_between_users_and_projects(
    client: AsyncTestClient[Litestar],
    app: Litestar,
    make_account: Any,
    make_project: Any,
    db: AsyncSession,
    embedder: Embedder,
) -> None:
    owner, viewer, stranger = await make_account(), await make_account(), await make_account()
    project_id = await make_project({owner.id: "owner", viewer.id: "viewer"})
    other_project = await make_project({stranger.id: "owner"})
    data = pdf_with_facts([FACT_PAGE])
    created = (await upload(client, owner, project_id, "secret.pdf", data)).json()
    await wait_done(client, owner, created["id"])
    # The stranger's own project holds the same bytes: a separate document, same stored file.
    theirs = await upload(client, stranger, other_project, "mine.pdf", data)
    assert theirs.status_code == 202
    assert theirs.json()["id"] != created["id"]

    body = {"project_id": str(project_id), "query": "Bluefin launch code"}
    assert (await upload(client, stranger, project_id, "x.md", b"# hi\n\nthere")).status_code == 404
    assert (await upload(client, viewer, project_id, "x.md", b"# hi\n\nthere")).status_code == 403
    doc_url = f"/api/v1/documents/{created['id']}"
    assert (await client.get(doc_url, headers=stranger.headers)).status_code == 404
    assert (await client.get(f"{doc_url}/chunks", headers=stranger.headers)).status_code == 404
    assert (await client.delete(doc_url, headers=stranger.headers)).status_code == 404
    assert (await client.delete(doc_url, headers=viewer.headers)).status_code == 403
    assert (
        await client.post("/api/v1/search", headers=stranger.headers, json=body)
    ).status_code == 404
    seen = await client.post("/api/v1/search", headers=viewer.headers, json=body)
    assert seen.status_code == 200
    assert seen.json()["hits"]
    # In the stranger's own project, nothing of the owner's project ever shows up.
    own = await client.post(
        "/api/v1/search",
        headers=stranger.headers,
        json={"project_id": str(other_project), "query": "Bluefin launch code"},
    )
    assert all(h["document_id"] == theirs.json()["id"] for h in own.json()["hits"])
    # The SQL itself refuses: the retrieval function called directly for a non-member.
    for mode in ("keyword", "vector", "hybrid"):
        hits = await search(
            db,
            user_id=stranger.id,
            project_id=project_id,
            query="Bluefin",
            mode=mode,
            embedder=embedder,
        )
        assert hits == []


async def test_delete_removes_rows_chunks_and_the_file_once_unused(
    client: AsyncTestClient[Litestar],
    make_account: Any,
    make_project: Any,
    db: AsyncSession,
    settings: Settings,
) -> None:
    owner = await make_account()
    first = await make_project({owner.id: "owner"})
    second = await make_project({owner.id: "owner"})
    data = pdf_with_facts([FACT_PAGE])
    a = (await upload(client, owner, first, "a.pdf", data)).json()
    b = (await upload(client, owner, second, "b.pdf", data)).json()
    await wait_done(client, owner, a["id"])
    await wait_done(client, owner, b["id"])
    path = file_store(settings.app.data_dir).path_for(a["sha256"])

    assert (
        await client.delete(f"/api/v1/documents/{a['id']}", headers=owner.headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/documents/{a['id']}", headers=owner.headers)
    ).status_code == 404
    assert await db.scalar(select(func.count()).where(Chunk.document_id == a["id"])) == 0
    assert path.exists(), "still used by the other project's document"

    assert (
        await client.delete(f"/api/v1/documents/{b['id']}", headers=owner.headers)
    ).status_code == 204
    assert await db.scalar(select(func.count()).select_from(Document)) == 0
    assert await db.scalar(select(func.count()).select_from(Chunk)) == 0
    for _ in range(50):
        if not path.exists():
            break
        await asyncio.sleep(0.05)
    assert not path.exists()


async def test_progress_is_pushed_to_the_project_channel_and_cancel_stops_processing(
    client: AsyncTestClient[Litestar], app: Litestar, make_account: Any, make_project: Any
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"})
    channels = app.plugins.get(ChannelsPlugin)
    history: list[dict[str, Any]] = []

    async def collect(frame: bytes) -> None:
        history.append(msgspec.json.decode(frame))

    async with (
        channels.start_subscription([project_channel(project_id)]) as subscriber,
        subscriber.run_in_background(collect),
    ):
        small = (
            await upload(client, owner, project_id, "s.pdf", pdf_with_facts([FACT_PAGE]))
        ).json()
        await wait_done(client, owner, small["id"])
        geotopo = corpus("pdf", "sf_GeoTopo-komprimiert.pdf")
        big = (await upload(client, owner, project_id, "g.pdf", geotopo)).json()
        cancelled = await client.post(
            f"/api/v1/documents/{big['id']}/cancel", headers=owner.headers
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        final = await wait_done(client, owner, big["id"])
        assert final["status"] == "cancelled"
        await asyncio.sleep(0.3)
    assert all(f["event"] == "document:updated" for f in history)
    states = [
        f["data"]["document"]["status"]
        for f in history
        if f["data"]["document"]["id"] == small["id"]
    ]
    assert states[0] == "processing"
    assert states[-1] == "completed"
    big_states = [
        f["data"]["document"]["status"] for f in history if f["data"]["document"]["id"] == big["id"]
    ]
    assert big_states[-1] == "cancelled"
    again = await client.post(f"/api/v1/documents/{big['id']}/cancel", headers=owner.headers)
    assert again.status_code == 409
