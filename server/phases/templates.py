"""Workflow templates: the ``workflows`` section of config.json, validated and resolved.

A template lists its phases in order; each names its questions, drafting instructions and the
phases it builds on. ``depends_on`` absent means "every earlier phase". Validation errors name
the setting, e.g. ``workflows.business-plan.phases[3].depends_on: unknown phase 17``.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from providers import ConfigError
from server.ai.prompts import content_hash
from server.errors import DomainError
from server.events import PromptVersion

if TYPE_CHECKING:
    from collections.abc import Mapping

    from server.ai import ConfigStore

_Text = Annotated[str, msgspec.Meta(min_length=1)]


class PhaseTemplate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One phase of a workflow template, as written in config.json."""

    number: int
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    goal: _Text
    questions: Annotated[tuple[_Text, ...], msgspec.Meta(min_length=1)]
    instructions: _Text
    depends_on: tuple[int, ...] | None = None


class Workflow(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A workflow template: its phases in order, with ``depends_on`` resolved."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    phases: Annotated[tuple[PhaseTemplate, ...], msgspec.Meta(min_length=1)]
    description: str = ""
    version: Annotated[str, msgspec.Meta(max_length=200)] = ""
    """A human label of this revision of the template, e.g. ``"2026-11 shorter market phase"``;
    the content hash is computed."""

    def phase(self, number: int) -> PhaseTemplate | None:
        """The phase numbered ``number``, if the template has it."""
        return self.phases[number - 1] if 1 <= number <= len(self.phases) else None

    def order(self) -> list[int]:
        """Phase numbers in an order where every phase follows the ones it depends on."""
        return order_by_dependencies({p.number: p.depends_on or () for p in self.phases})


def template_version(workflow: Workflow) -> PromptVersion:
    """The whole template's version: the hash of its phases, and its label."""
    return PromptVersion(
        "template", content_hash(msgspec.json.encode(workflow.phases)), workflow.version or None
    )


def phase_template_version(workflow: Workflow, spec: PhaseTemplate) -> PromptVersion:
    """One phase's part of the template (title, goal, questions, instructions, dependencies):
    a draft written from another hash was written with an older template."""
    return PromptVersion(
        f"phase {spec.number}", content_hash(msgspec.json.encode(spec)), workflow.version or None
    )


def order_by_dependencies(graph: Mapping[int, tuple[int, ...] | list[int]]) -> list[int]:
    """Topological order of ``graph`` (number → dependencies), lowest number first among equals."""
    sorter = TopologicalSorter({n: tuple(deps) for n, deps in graph.items()})
    sorter.prepare()
    order: list[int] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order


def _workflow(name: str, raw: Any) -> Workflow:
    where = f"workflows.{name}"
    try:
        workflow = msgspec.convert(raw, type=Workflow)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$")
        raise ConfigError(f"{where}{path.rstrip('`')}: {message}") from None
    phases = []
    for index, phase in enumerate(workflow.phases):
        at = f"{where}.phases[{index}]"
        if phase.number != index + 1:
            raise ConfigError(
                f"{at}.number: phases must be numbered 1..{len(workflow.phases)} in order, "
                f"found {phase.number}"
            )
        depends_on = phase.depends_on
        if depends_on is None:
            depends_on = tuple(range(1, phase.number))
        for dep in depends_on:
            if dep == phase.number:
                raise ConfigError(f"{at}.depends_on: a phase cannot depend on itself")
            if not 1 <= dep <= len(workflow.phases):
                raise ConfigError(f"{at}.depends_on: unknown phase {dep}")
        phases.append(msgspec.structs.replace(phase, depends_on=tuple(sorted(set(depends_on)))))
    resolved = msgspec.structs.replace(workflow, phases=tuple(phases))
    try:
        resolved.order()
    except CycleError as exc:
        cycle = " → ".join(str(n) for n in exc.args[1])
        raise ConfigError(f"{where}.phases: dependency cycle {cycle}") from None
    return resolved


def parse_workflows(raw: Mapping[str, Any]) -> dict[str, Workflow]:
    """The ``workflows`` section of a decoded config.json, validated; ``ConfigError`` if not.

    A config without the section has no templates: the server runs, but creating a project
    answers 422 ``unknown_template`` until an admin adds one.
    """
    section = raw.get("workflows", {})
    if not isinstance(section, dict):
        raise ConfigError("workflows: must be an object of workflow templates by name")
    return {str(name): _workflow(str(name), value) for name, value in section.items()}


def validate_workflows(raw: Mapping[str, Any]) -> None:
    """A ``ConfigStore`` validator: rejects a config.json whose workflows are invalid."""
    parse_workflows(raw)


class WorkflowCatalog:
    """The workflow templates of the config in force, re-parsed only when the config reloads."""

    def __init__(self, store: ConfigStore) -> None:
        self._store = store
        self._loaded_at = store.loaded_at
        self._workflows = parse_workflows(store.raw)

    def _current(self) -> dict[str, Workflow]:
        if self._store.loaded_at != self._loaded_at:
            self._workflows = parse_workflows(self._store.raw)
            self._loaded_at = self._store.loaded_at
        return self._workflows

    def get(self, name: str) -> Workflow | None:
        """The template called ``name``, or None."""
        return self._current().get(name)

    def require(self, name: str) -> Workflow:
        """The template called ``name``; 422 ``unknown_template`` naming the ones there are."""
        workflow = self.get(name)
        if workflow is None:
            available = ", ".join(sorted(self.names()))
            raise DomainError(
                "unknown_template",
                f"there is no workflow template {name!r}; available: {available}",
            )
        return workflow

    def names(self) -> list[str]:
        """Names of every template."""
        return list(self._current())

    def config(self) -> Mapping[str, Any]:
        """The decoded config.json in force (for prompt labels)."""
        return self._store.raw


def workflow_catalog(store: ConfigStore) -> WorkflowCatalog:
    """The workflow templates of ``store``; registers the workflows validator on it so that an
    invalid ``workflows`` section stops start-up and is refused on reload."""
    store.add_validator(validate_workflows)
    return WorkflowCatalog(store)
