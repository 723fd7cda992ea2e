"""Workflow templates: the shipped ones are valid, invalid ones are refused with the setting
named, at start-up and on reload; extractive summaries fit their budget."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from providers import ConfigError, estimate_tokens
from server.ai import ConfigStore
from server.app import create_app
from server.metering import Meter
from server.phases import parse_workflows, summarise, workflow_catalog
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from server.settings import Settings


def _phase(number: int, depends_on: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    phase = {
        "number": number,
        "title": f"Phase {number}",
        "goal": "A goal.",
        "questions": ["A question?"],
        "instructions": "Write it.",
        **extra,
    }
    if depends_on is not None:
        phase["depends_on"] = depends_on
    return phase


def _config(*phases: dict[str, Any]) -> dict[str, Any]:
    return {"workflows": {"plan": {"title": "Plan", "phases": list(phases)}}}


def test_shipped_templates_are_valid_and_ordered() -> None:
    workflows = parse_workflows(json.loads((ROOT / "config.json").read_text()))
    plan = workflows["business-plan"]
    assert [p.title for p in plan.phases] == [
        "Vision",
        "Target audience",
        "Problem",
        "Solution",
        "Market",
        "Competition",
        "Business model",
        "Go-to-market",
        "Operations",
        "Team",
        "Milestones",
        "Financials",
        "Risks",
        "Executive summary",
    ]
    assert all(len(p.questions) >= 3 for p in plan.phases)
    assert plan.phases[13].depends_on == tuple(range(1, 14))
    assert len(workflows["grant-proposal"].phases) == 9


@pytest.mark.parametrize(
    ("phases", "message"),
    [
        (
            [_phase(1), _phase(2, [1]), _phase(3, [17])],
            "workflows.plan.phases[2].depends_on: unknown phase 17",
        ),
        (
            [_phase(1, [3]), _phase(2, [1]), _phase(3, [2])],
            "workflows.plan.phases: dependency cycle",
        ),
        ([_phase(1), _phase(3)], "workflows.plan.phases[1].number: phases must be numbered 1..2"),
        ([_phase(1), _phase(1)], "workflows.plan.phases[1].number"),
        ([_phase(1, [1])], "workflows.plan.phases[0].depends_on: a phase cannot depend on itself"),
        ([_phase(1, questions=[])], "workflows.plan.phases[0].questions"),
        ([_phase(1, colour="red")], "workflows.plan.phases[0]"),
    ],
)
def test_invalid_templates_name_the_setting(phases: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_workflows(_config(*phases))
    assert str(caught.value).startswith(message)


def test_a_cycle_names_its_phases() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_workflows(_config(_phase(1), _phase(2, [1, 3]), _phase(3, [2])))
    assert "2 → 3 → 2" in str(caught.value) or "3 → 2 → 3" in str(caught.value)


def _write(path: Path, workflows: dict[str, Any]) -> Path:
    config = json.loads((ROOT / "config.json").read_text())
    config["workflows"] = workflows
    path.write_text(json.dumps(config))
    return path


def test_invalid_workflows_stop_start_up(settings: Settings, tmp_path: Path) -> None:
    path = _write(tmp_path / "config.json", _config(_phase(1, [2]))["workflows"])
    bad = replace(settings, app=replace(settings.app, config_path=path))
    with pytest.raises(ConfigError, match=r"workflows\.plan\.phases\[0\]\.depends_on"):
        create_app(bad, "postgresql+asyncpg://unused/unused")


async def test_invalid_workflows_are_refused_on_reload(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.json", _config(_phase(1), _phase(2))["workflows"])
    store = ConfigStore(path, meter=Meter(async_sessionmaker()))  # no provider call is made
    catalog = workflow_catalog(store)
    assert catalog.names() == ["plan"]
    _write(path, _config(_phase(1, [2]), _phase(2, [1]))["workflows"])
    assert await store.reload() is False
    assert store.last_error is not None
    assert "dependency cycle" in store.last_error
    assert catalog.require("plan").phases[1].depends_on == (1,)
    _write(path, {"grant": {"title": "Grant", "phases": [_phase(1)]}})
    assert await store.reload() is True
    assert catalog.names() == ["grant"]
    await store.registry.aclose()


def test_summaries_keep_headings_and_first_sentences_within_budget() -> None:
    text = (
        "# Market\n\nFarmers spend a lot on water. They pump it by hand. It is slow.\n\n"
        "## Size\n\nThere are two million farms. Most are small.\n\n"
        + "\n\n".join(f"Paragraph {i} opens here. Then it goes on at length." for i in range(200))
    )
    short, shortened = summarise(text, 60)
    assert shortened
    assert estimate_tokens(short) <= 62
    assert short.startswith("# Market\nFarmers spend a lot on water.\n## Size\nThere are two")
    assert "They pump it by hand." not in short
    assert summarise("Short enough.", 60) == ("Short enough.", False)
    assert summarise(text, 60) == (short, True)
