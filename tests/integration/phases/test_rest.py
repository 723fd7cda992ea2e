"""Phases over REST: creation from templates, answers, drafts, versions, conflicts and roles."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.integration.conftest import Account

    from .conftest import Phases


async def test_a_project_gets_the_phases_of_its_template(
    client: AsyncTestClient[Litestar], make_account, new_project, phases_of
) -> None:
    ann: Account = await make_account()
    plan = phases_of(await new_project(ann), ann)
    phases = await plan.get()
    assert [p["number"] for p in phases] == list(range(1, 15))
    assert phases[0]["title"] == "Vision"
    assert phases[13]["title"] == "Executive summary"
    assert {p["status"] for p in phases} == {"not_started"}
    assert phases[0]["depends_on"] == []
    # Absent depends_on means every earlier phase; financials name theirs explicitly.
    assert phases[13]["depends_on"] == list(range(1, 14))
    assert phases[11]["depends_on"] == [5, 7, 8, 9, 10, 11]
    assert phases[0]["questions"]
    assert phases[0]["next_question"] == 0

    grant = phases_of(await new_project(ann, "grant-proposal"), ann)
    assert len(await grant.get()) == 9

    r = await client.post(
        "/api/v1/projects", json={"name": "X", "template": "novel"}, headers=ann.headers
    )
    assert r.status_code == 422
    assert r.json()["code"] == "unknown_template"
    assert "business-plan" in r.json()["message"]


async def test_answer_draft_approve_and_versions(
    make_account, new_project, phases_of: Callable[..., Phases]
) -> None:
    ann: Account = await make_account()
    plan = phases_of(await new_project(ann), ann)
    started = await plan.call("POST", "/1/start")
    assert started["status"] == "in_progress"
    await plan.call("POST", "/1/approve", 409)

    await plan.call("PUT", "/1/answers/0", json={"answer": "We make solar kits for farms."})
    await plan.call("PUT", "/1/answers/1", json={"answer": "Every farm runs on the sun."})
    await plan.call("PUT", "/1/answers/9", 404, json={"answer": "no such question"})
    phase = await plan.get(1)
    assert [a["index"] for a in phase["answers"]] == [0, 1]
    assert phase["next_question"] == 2

    drafted = await plan.call("POST", "/1/regenerate")
    assert drafted["current_version"] == 1
    assert drafted["awaiting_approval"] is True
    assert "solar kits for farms" in drafted["content"]
    versions = await plan.call("GET", "/1/versions")
    assert versions[0]["author_kind"] == "assistant"
    assert versions[0]["provider"] == "local"
    assert versions[0]["answers"][0]["answer"] == "We make solar kits for farms."
    assert versions[0]["sources"][0]["kind"] == "instructions"

    # A changed answer goes to its phase; the stored draft keeps the answers it was made from.
    await plan.call("PUT", "/1/answers/0", json={"answer": "We make solar pumps."})
    assert (await plan.get(1))["answers"][0]["answer"] == "We make solar pumps."
    first = await plan.call("GET", "/1/versions/1")
    assert first["answers"][0]["answer"] == "We make solar kits for farms."

    approved = await plan.call("POST", "/1/approve")
    assert approved["status"] == "completed"
    assert approved["awaiting_approval"] is False

    edited = await plan.edit(1, "# Vision\n\nSolar pumps for every farm.\n", 1)
    assert edited["current_version"] == 2
    assert edited["status"] == "completed"
    diff = await plan.call("GET", "/1/versions/diff", params={"from": 1, "to": 2})
    assert diff["diff"].startswith("--- phase 1 version 1\n+++ phase 1 version 2\n")
    assert "+Solar pumps for every farm.\n" in diff["diff"]
    assert diff["added_lines"] == diff["diff"].count("\n+") - 1
    assert diff["removed_lines"] == diff["diff"].count("\n-") > 0

    restored = await plan.call("POST", "/1/versions/1/restore")
    assert restored["current_version"] == 3
    assert restored["content"] == drafted["content"]
    versions = await plan.call("GET", "/1/versions")
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[2]["note"] == "restored from version 1"
    assert versions[2]["author_kind"] == "user"
    assert versions[2]["author_id"] == str(ann.id)
    assert versions[1]["content"] == "# Vision\n\nSolar pumps for every farm.\n"
    await plan.call("POST", "/1/versions/9/restore", 404)


async def test_a_conflicting_edit_gets_409_and_loses_nothing(
    make_account, new_project, phases_of: Callable[..., Phases]
) -> None:
    ann, bob = await make_account(), await make_account()
    project = await new_project(ann, members={bob.id: "editor"})
    ann_view, bob_view = phases_of(project, ann), phases_of(project, bob)
    await ann_view.edit(2, "Farmers in Kenya.", None)
    await ann_view.edit(2, "Smallholder farmers in Kenya.", 1)

    rejected = await bob_view.edit(2, "Farmers in Kenya and Uganda.", 1, status=409)
    assert rejected["code"] == "conflict"
    assert rejected["current_version"] == 2
    assert rejected["current_content"] == "Smallholder farmers in Kenya."
    assert rejected["rejected_content"] == "Farmers in Kenya and Uganda."
    assert len(await bob_view.call("GET", "/2/versions")) == 2

    # Creating the first version also checks the base: it must be "no version yet".
    assert (await bob_view.edit(3, "x", 5, status=409))["current_version"] is None
    merged = await bob_view.edit(2, "Smallholder farmers in Kenya and Uganda.", 2)
    assert merged["current_version"] == 3


async def test_viewers_read_editors_edit_strangers_see_nothing(
    make_account, new_project, phases_of: Callable[..., Phases]
) -> None:
    owner, viewer, stranger = [await make_account() for _ in range(3)]
    project = await new_project(owner, members={viewer.id: "viewer"})
    await phases_of(project, owner).edit(1, "A vision.", None)
    seen = phases_of(project, viewer)
    assert (await seen.get(1))["content"] == "A vision."
    await seen.call("GET", "/1/versions")
    await seen.call("GET", "/1/answers")
    await seen.call("POST", "/2/reconstruct-context")
    await seen.edit(1, "mine", 1, status=403)
    await seen.call("PUT", "/1", 403, json={"content": "mine", "based_on_version": 1})
    await seen.call("POST", "/1/approve", 403)
    await seen.call("POST", "/1/regenerate", 403)
    await seen.call("POST", "/1/versions/1/restore", 403)
    await seen.call("POST", "/regenerate-stale", 403)
    await seen.call("PUT", "/1/answers/0", 403, json={"answer": "x"})
    hidden = phases_of(project, stranger)
    await hidden.call("GET", "", 404)
    await hidden.call("GET", "/1/versions", 404)
    await phases_of(project, owner).call("GET", "/99", 404)


async def test_put_saves_like_edit(make_account, new_project, phases_of) -> None:
    ann: Account = await make_account()
    plan = phases_of(await new_project(ann), ann)
    saved = await plan.call("PUT", "/4", json={"content": "Kits.", "based_on_version": None})
    assert saved["current_version"] == 1
    assert saved["status"] == "in_progress"


async def test_simultaneous_edits_from_one_base_save_once(
    make_account, new_project, phases_of: Callable[..., Phases]
) -> None:
    ann, bob = await make_account(), await make_account()
    project = await new_project(ann, members={bob.id: "editor"})
    await phases_of(project, ann).edit(5, "Base.", None)
    results = await asyncio.gather(
        phases_of(project, ann).call(
            "POST", "/5/edit", None, json={"content": "Ann's.", "based_on_version": 1}
        ),
        phases_of(project, bob).call(
            "POST", "/5/edit", None, json={"content": "Bob's.", "based_on_version": 1}
        ),
    )
    saved = [r for r in results if "current_version" in r and "code" not in r]
    refused = [r for r in results if r.get("code") == "conflict"]
    assert len(saved) == len(refused) == 1
    assert refused[0]["current_content"] == saved[0]["content"]
    versions = await phases_of(project, ann).call("GET", "/5/versions")
    assert [v["content"] for v in versions] == ["Base.", saved[0]["content"]]


async def test_a_draft_no_provider_can_write_is_503_and_stores_nothing(
    client: AsyncTestClient[Litestar], make_account, new_project, phases_of
) -> None:
    if os.environ.get("OPENAI_API_KEY"):
        pytest.skip("the cloud-only profile must have no usable provider")
    ann: Account = await make_account()
    project = await new_project(ann)
    r = await client.patch(
        f"/api/v1/projects/{project}", json={"profile": "cloud-only"}, headers=ann.headers
    )
    assert r.status_code == 200, r.text
    plan = phases_of(project, ann)
    failed = await plan.call("POST", "/1/regenerate", 503)
    assert failed["code"] == "provider_unavailable"
    assert await plan.call("GET", "/1/versions") == []
