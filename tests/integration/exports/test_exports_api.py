"""Exports end to end: REST request → queue (in-process Dramatiq worker) → download → readers."""

from __future__ import annotations

import asyncio
import io
import json
from typing import TYPE_CHECKING, Any

import docx
import pytest
from markdown_it import MarkdownIt
from pypdf import PdfReader

from render import decode_json_export

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.integration.conftest import Account

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
        assert "Needs review" in text
    elif fmt == "docx":
        headings = [
            p.text
            for p in docx.Document(io.BytesIO(content)).paragraphs
            if p.style.name == "Heading 1"
        ]
        assert len(headings) == 14
    elif fmt == "md":
        tokens = MarkdownIt().parse(content.decode())
        assert sum(1 for t in tokens if t.tag == "h2" and t.type == "heading_open") >= 14
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
