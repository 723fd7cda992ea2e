"""Exports end to end: REST request → queue (in-process Dramatiq worker) → download → readers."""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import docx
import pytest
from markdown_it import MarkdownIt
from pypdf import PdfReader

from render import decode_json_export
from server.settings import SettingsError, load_settings
from tests.unit.render.readback import (
    docx_headings,
    docx_page_size_mm,
    docx_text,
    docx_toc,
    markdown_headings,
    pdf_headings,
    pdf_page_size_mm,
    pdf_text,
    skipped_levels,
)
from tests.unit.render.sample import WRITTEN, mostly_empty_plan

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path
    from uuid import UUID

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.settings import Settings
    from tests.integration.conftest import Account

    PlanMaker = Callable[..., Awaitable[UUID]]

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
}


async def wait_done(
    client: AsyncTestClient[Litestar], export_id: str, headers: dict[str, str]
) -> dict[str, Any]:
    """Poll the export until it leaves queued/running."""
    for _ in range(600):
        response = await client.get(f"/api/v1/exports/{export_id}", headers=headers)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        if body["status"] not in ("queued", "running"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"export {export_id} did not finish: {body}")


async def export_file(
    client: AsyncTestClient[Litestar],
    project_id: UUID,
    headers: dict[str, str],
    **request: str,
) -> tuple[dict[str, Any], bytes]:
    """Ask for an export, wait for the queue to render it, and download it."""
    created = await client.post(
        f"/api/v1/projects/{project_id}/exports", json=request, headers=headers
    )
    assert created.status_code == 202, created.text
    done = await wait_done(client, created.json()["id"], headers)
    assert done["status"] == "completed", done
    response = await client.get(done["download_url"], headers=headers)
    assert response.status_code == 200
    return done, response.content


@pytest.mark.parametrize("fmt", ["pdf", "docx", "md", "json"])
async def test_export_round_trip(
    client: AsyncTestClient[Litestar],
    make_account: Callable[..., Awaitable[Account]],
    make_plan: Callable[[UUID], Awaitable[UUID]],
    fmt: str,
) -> None:
    owner = await make_account()
    project_id = await make_plan(owner.id)
    created = await client.post(
        f"/api/v1/projects/{project_id}/exports", json={"format": fmt}, headers=owner.headers
    )
    assert created.status_code == 202, created.text
    assert created.json()["status"] == "queued"
    done = await wait_done(client, created.json()["id"], owner.headers)
    assert done["status"] == "completed", done
    response = await client.get(done["download_url"], headers=owner.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPES[fmt]
    assert f'filename="{done["filename"]}"' in response.headers["content-disposition"]
    assert done["filename"].endswith(f".{fmt}")
    content = response.content
    if fmt == "pdf":
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
        assert "Not yet written: Phase 13 Risks." in text
        assert "[S1]" in text
        assert "eu-e-invoicing-directive.pdf, p. 4, Timeline" in text
    elif fmt == "docx":
        headings = [
            p.text
            for p in docx.Document(io.BytesIO(content)).paragraphs
            if p.style.name == "Heading 1"
        ]
        assert len(headings) == len(WRITTEN)
    elif fmt == "md":
        tokens = MarkdownIt().parse(content.decode())
        assert sum(1 for t in tokens if t.tag == "h2" and t.type == "heading_open") > len(WRITTEN)
    else:
        export = decode_json_export(content)
        assert len(export.project.phases) == 14
        assert json.loads(content)["project"]["project_id"] == str(project_id)


@pytest.mark.parametrize("fmt", ["pdf", "docx", "md", "json"])
async def test_project_without_phases_exports_an_empty_document(
    client: AsyncTestClient[Litestar],
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
    fmt: str,
) -> None:
    owner = await make_account()
    project_id = await make_project({owner.id: "owner"}, name="Blank slate")
    created = await client.post(
        f"/api/v1/projects/{project_id}/exports", json={"format": fmt}, headers=owner.headers
    )
    done = await wait_done(client, created.json()["id"], owner.headers)
    assert done["status"] == "completed", done
    assert done["filename"] == f"blank-slate.{fmt}"
    response = await client.get(done["download_url"], headers=owner.headers)
    assert response.status_code == 200
    if fmt == "json":
        assert decode_json_export(response.content).project.phases == []


async def test_a_mostly_empty_project_exports_a_short_pdf(
    client: AsyncTestClient[Litestar],
    make_account: Callable[..., Awaitable[Account]],
    make_plan: PlanMaker,
) -> None:
    owner = await make_account()
    project_id = await make_plan(owner.id, mostly_empty_plan())
    _, content = await export_file(client, project_id, owner.headers, format="pdf")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 3  # title page, contents, the one written phase
    assert "Not yet written: Phase 2 Audience," in reader.pages[1].extract_text()
    assert pdf_page_size_mm(content) == {(210, 297)}


async def test_final_and_draft_modes(
    client: AsyncTestClient[Litestar],
    make_account: Callable[..., Awaitable[Account]],
    make_plan: PlanMaker,
) -> None:
    owner = await make_account()
    project_id = await make_plan(owner.id)
    internal = ("Completed", "· version 2", "In progress", "Needs review")
    for mode in ("final", "draft"):
        texts = {}
        for fmt in ("pdf", "docx", "md"):
            done, content = await export_file(
                client, project_id, owner.headers, format=fmt, mode=mode
            )
            assert done["filename"].endswith(("-draft." if mode == "draft" else "2026.") + fmt)
            texts[fmt] = (
                pdf_text(content)
                if fmt == "pdf"
                else docx_text(content)
                if fmt == "docx"
                else content.decode()
            )
        for fmt, text in texts.items():
            for line in internal:
                assert (line in text) == (mode == "draft"), (mode, fmt, line)
            if mode == "final":
                assert "needs review" not in text, fmt
            else:
                assert text.count("· version 2 · updated") == len(WRITTEN), fmt


async def test_heading_levels_never_skip_in_any_format(
    client: AsyncTestClient[Litestar],
    make_account: Callable[..., Awaitable[Account]],
    make_plan: PlanMaker,
) -> None:
    owner = await make_account()
    project_id = await make_plan(owner.id)
    _, pdf = await export_file(client, project_id, owner.headers, format="pdf")
    _, word = await export_file(client, project_id, owner.headers, format="docx")
    _, markdown = await export_file(client, project_id, owner.headers, format="md")
    by_format = {
        "pdf": pdf_headings(pdf),
        "docx": docx_headings(word),
        # Markdown's title is "#": one level below the others' level 0.
        "md": [(level - 1, text) for level, text in markdown_headings(markdown.decode())],
    }
    for fmt, headings in by_format.items():
        assert headings[0] == (0, "Ledgerly — Business Plan 2026"), fmt
        assert skipped_levels(headings) == [], fmt
        body = [h for h in headings if h != (1, "Contents")]
        assert body == by_format["docx"], fmt


async def test_docx_contents_are_pre_filled(
    client: AsyncTestClient[Litestar],
    make_account: Callable[..., Awaitable[Account]],
    make_plan: PlanMaker,
) -> None:
    owner = await make_account()
    project_id = await make_plan(owner.id)
    _, content = await export_file(client, project_id, owner.headers, format="docx")
    shown = docx_toc(content)
    assert shown[:3] == [("toc 1", "1. Vision"), ("toc 2", "Why now"), ("toc 2", "Principles")]
    assert [text for style, text in shown if style == "toc 1"] == [
        text for level, text in docx_headings(content) if level == 1
    ]


@pytest.mark.parametrize(("paper", "size"), [("A4", (210, 297)), ("Letter", (216, 279))])
async def test_paper_size_of_pdf_and_docx(
    client: AsyncTestClient[Litestar],
    make_account: Callable[..., Awaitable[Account]],
    make_plan: PlanMaker,
    paper: str,
    size: tuple[int, int],
) -> None:
    owner = await make_account()
    project_id = await make_plan(owner.id, mostly_empty_plan())
    _, pdf = await export_file(client, project_id, owner.headers, format="pdf", paper_size=paper)
    _, word = await export_file(client, project_id, owner.headers, format="docx", paper_size=paper)
    assert pdf_page_size_mm(pdf) == {size}
    assert docx_page_size_mm(word) == {size}


class TestServerPaperSize:
    """``EXPORT_PAPER_SIZE`` is the paper of exports that do not ask for one."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return replace(settings, exports=replace(settings.exports, paper_size="Letter"))

    async def test_default_comes_from_the_setting(
        self,
        client: AsyncTestClient[Litestar],
        make_account: Callable[..., Awaitable[Account]],
        make_plan: PlanMaker,
    ) -> None:
        owner = await make_account()
        project_id = await make_plan(owner.id, mostly_empty_plan())
        _, letter = await export_file(client, project_id, owner.headers, format="docx")
        _, a4 = await export_file(client, project_id, owner.headers, format="pdf", paper_size="A4")
        assert docx_page_size_mm(letter) == {(216, 279)}
        assert pdf_page_size_mm(a4) == {(210, 297)}


def test_export_paper_size_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EXPORT_PAPER_SIZE", raising=False)
    assert load_settings().exports.paper_size == "A4"
    monkeypatch.setenv("EXPORT_PAPER_SIZE", "letter")
    assert load_settings().exports.paper_size == "Letter"
    monkeypatch.setenv("EXPORT_PAPER_SIZE", "A3")
    with pytest.raises(SettingsError, match="EXPORT_PAPER_SIZE='A3' is not a paper size"):
        load_settings()


@pytest.mark.parametrize(
    "body",
    [
        {"format": "pdf", "paper_size": "A3"},
        {"format": "pdf", "mode": "preview"},
        {"format": "pdf", "colour": "blue"},
    ],
)
async def test_bad_options_are_refused(
    client: AsyncTestClient[Litestar],
    make_account: Callable[..., Awaitable[Account]],
    make_plan: PlanMaker,
    body: dict[str, str],
) -> None:
    owner = await make_account()
    project_id = await make_plan(owner.id, mostly_empty_plan())
    response = await client.post(
        f"/api/v1/projects/{project_id}/exports", json=body, headers=owner.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid"
