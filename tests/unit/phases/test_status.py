"""The phase status machine: the table, the one approval rule, and that nothing else in the
phase workflow assigns a status."""

from __future__ import annotations

import ast
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast, get_args

import pytest

from server.events import PhaseStatus as WireStatus
from server.phases import (
    TRANSITIONS,
    NoDraftError,
    PhaseEvent,
    PhaseStatus,
    StatusConflictError,
    advance,
)
from tests.conftest import ROOT

if TYPE_CHECKING:
    from server.db.models import Phase

S, E = PhaseStatus, PhaseEvent


def _row(status: PhaseStatus, version: int | None = None) -> Phase:
    return cast("Phase", SimpleNamespace(number=3, status=status.value, current_version=version))


def test_wire_statuses_are_the_enum() -> None:
    assert set(get_args(WireStatus)) == {s.value for s in PhaseStatus}


@pytest.mark.parametrize(
    ("status", "event", "version", "expected"),
    [
        (S.NOT_STARTED, E.START, None, S.IN_PROGRESS),
        (S.COMPLETED, E.START, 2, S.COMPLETED),
        (S.NOT_STARTED, E.ANSWER, None, S.IN_PROGRESS),
        (S.STALE, E.ANSWER, 1, S.STALE),
        (S.COMPLETED, E.DRAFT, 1, S.IN_PROGRESS),
        (S.STALE, E.EDIT, 1, S.IN_PROGRESS),
        (S.COMPLETED, E.EDIT, 1, S.COMPLETED),
        (S.IN_PROGRESS, E.APPROVE, 1, S.COMPLETED),
        (S.STALE, E.APPROVE, 1, S.COMPLETED),
        (S.COMPLETED, E.UPSTREAM_CHANGED, 1, S.STALE),
    ],
)
def test_events_lead_where_the_table_says(
    status: PhaseStatus, event: PhaseEvent, version: int | None, expected: PhaseStatus
) -> None:
    row = _row(status, version)
    assert advance(row, event) is (expected is not status)
    assert row.status == expected.value


@pytest.mark.parametrize(
    ("status", "event"),
    [(S.NOT_STARTED, E.APPROVE), (S.NOT_STARTED, E.UPSTREAM_CHANGED)],
)
def test_an_event_missing_from_the_table_is_refused_and_changes_nothing(
    status: PhaseStatus, event: PhaseEvent
) -> None:
    row = _row(status, 1)
    with pytest.raises(StatusConflictError) as refused:
        advance(row, event)
    assert refused.value.code == "conflict"
    assert row.status == status.value


def test_approving_needs_a_draft_whatever_the_status() -> None:
    row = _row(S.IN_PROGRESS, None)
    with pytest.raises(NoDraftError) as refused:
        advance(row, E.APPROVE)
    assert refused.value.code == "conflict"
    assert "no draft to approve" in refused.value.message
    assert row.status == "in_progress"


def test_every_status_has_a_way_forward_and_stale_a_way_back() -> None:
    reachable = {to for (_, _), to in TRANSITIONS.items()}
    assert reachable == set(PhaseStatus) - {S.NOT_STARTED}
    assert TRANSITIONS[(S.STALE, E.DRAFT)] is S.IN_PROGRESS


def _status_assignments(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        targets: list[Any] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        lines += [
            node.lineno for t in targets if isinstance(t, ast.Attribute) and t.attr == "status"
        ]
        # A status given when building a row: a literal or an enum member, not a copy.
        if isinstance(node, ast.keyword) and node.arg == "status":
            value = ast.unparse(node.value)
            if isinstance(node.value, ast.Constant) or "PhaseStatus" in value:
                lines.append(node.value.lineno)
    return lines


def test_only_the_status_machine_assigns_a_phase_status() -> None:
    found = {}
    for path in sorted((ROOT / "server" / "phases").glob("*.py")):
        if path.name in ("status.py", "schemas.py"):
            continue
        lines = _status_assignments(ast.parse(path.read_text()))
        if lines:
            found[path.name] = lines
    # Creating phases names their first status; every change after that is ``advance``.
    assert found == {"services.py": [found.get("services.py", [0])[0]]}
    source = (ROOT / "server" / "phases" / "services.py").read_text().splitlines()
    assert "PhaseStatus.NOT_STARTED" in source[found["services.py"][0] - 1]
