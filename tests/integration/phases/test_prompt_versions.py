"""Prompt versions: a draft records the drafting prompt, the template and the phase's part of it
(hash and label) with the model; reconstruct-context shows the same; changing the template's
instructions in config.json flags the completed phase as written with an older template."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from providers import ConfigError
from server.app import create_app
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from server.settings import Settings
    from tests.integration.phases.conftest import Phases


async def test_a_draft_records_its_prompt_versions_and_a_template_change_flags_it(
    make_account, new_project, phases_of: Callable[..., Phases], phase_settings: Settings
) -> None:
    ann = await make_account()
    plan = phases_of(await new_project(ann), ann)
    await plan.call("POST", "/1/start")
    await plan.call("PUT", "/1/answers/0", json={"answer": "We make solar kits for farms."})
    await plan.call("POST", "/1/regenerate")
    [version] = await plan.call("GET", "/1/versions")
    assert version["provider"] == "local"
    assert version["model"]
    recorded = {p["name"]: p for p in version["prompts"]}
    assert set(recorded) == {"drafting", "template", "phase 1"}
    assert all(len(p["hash"]) == 12 and p["label"] is None for p in recorded.values())

    context = await plan.call("POST", "/1/reconstruct-context")
    assert context["prompts"] == version["prompts"]

    approved = await plan.call("POST", "/1/approve")
    assert approved["status"] == "completed"
    assert approved["written_with_older_template"] is False

    # An admin rewrites phase 1's instructions, labels the template and the drafting prompt.
    path = phase_settings.app.config_path
    config = json.loads(path.read_text())
    template = config["workflows"]["business-plan"]
    template["phases"][0]["instructions"] += " Mention the founding year."
    template["version"] = "2026-11 founding year"
    config["prompts"] = {"drafting": "2026-11 wording"}
    path.write_text(json.dumps(config))

    for _ in range(100):  # the server polls config.json every second
        phase = await plan.get(1)
        if phase["written_with_older_template"]:
            break
        await asyncio.sleep(0.1)
    assert phase["written_with_older_template"] is True
    assert phase["status"] == "completed"  # a look is worth it, but nothing is stale
    assert (await plan.get(2))["written_with_older_template"] is False

    now = {p["name"]: p for p in (await plan.call("POST", "/1/reconstruct-context"))["prompts"]}
    assert now["phase 1"]["hash"] != recorded["phase 1"]["hash"]
    assert now["phase 1"]["label"] == "2026-11 founding year"
    assert now["template"]["hash"] != recorded["template"]["hash"]
    assert now["drafting"] == {**recorded["drafting"], "label": "2026-11 wording"}

    # Drafting again with the new template clears the flag once approved.
    await plan.call("POST", "/1/regenerate")
    redone = await plan.call("POST", "/1/approve")
    assert redone["written_with_older_template"] is False
    latest = (await plan.call("GET", "/1/versions"))[-1]
    assert {p["name"]: p["label"] for p in latest["prompts"]} == {
        "drafting": "2026-11 wording",
        "template": "2026-11 founding year",
        "phase 1": "2026-11 founding year",
    }


def test_an_unknown_prompt_label_is_refused_at_start(
    tmp_path: Path, settings: Settings, clean_db: str
) -> None:
    config = json.loads((ROOT / "config.json").read_text())
    config["prompts"] = {"summarising": "v1"}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=r"prompts\.summarising: unknown prompt"):
        create_app(replace(settings, app=replace(settings.app, config_path=path)), clean_db)
