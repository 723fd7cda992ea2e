"""The phase status machine: the four statuses, what can happen to a phase, and the one table
that says where each event leads, with the one rule that is not about statuses alone
(approving needs a draft).

Every change of a phase's status goes through :func:`advance`; nothing else assigns
``Phase.status``. An event with no entry for the current status is refused with
:class:`StatusConflictError` and changes nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Final

from server.errors import DomainError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from server.db.models import Phase


class PhaseStatus(StrEnum):
    """Where a phase stands."""

    NOT_STARTED = "not_started"
    """Nobody has worked on it yet."""
    IN_PROGRESS = "in_progress"
    """Questions being answered, or a draft awaiting approval."""
    COMPLETED = "completed"
    """Its current version was approved."""
    STALE = "stale"
    """Something it depends on changed after its current version was written."""


class PhaseEvent(StrEnum):
    """What can happen to a phase."""

    START = "start"
    """Work begins: its first question is asked, it is opened with goto or started over REST."""
    ANSWER = "answer"
    """An answer to one of its questions is recorded."""
    DRAFT = "draft"
    """The assistant wrote a new version; it awaits approval."""
    EDIT = "edit"
    """A person wrote a new version (an edit, or a restore of an old version)."""
    APPROVE = "approve"
    """The current version is accepted."""
    UPSTREAM_CHANGED = "upstream_changed"
    """A phase it depends on got a new version."""


_S, _E = PhaseStatus, PhaseEvent

TRANSITIONS: Final[Mapping[tuple[PhaseStatus, PhaseEvent], PhaseStatus]] = {
    (_S.NOT_STARTED, _E.START): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _E.START): _S.IN_PROGRESS,
    (_S.COMPLETED, _E.START): _S.COMPLETED,
    (_S.STALE, _E.START): _S.STALE,
    (_S.NOT_STARTED, _E.ANSWER): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _E.ANSWER): _S.IN_PROGRESS,
    # A changed answer does not undo an approval or a staleness: redrafting does.
    (_S.COMPLETED, _E.ANSWER): _S.COMPLETED,
    (_S.STALE, _E.ANSWER): _S.STALE,
    (_S.NOT_STARTED, _E.DRAFT): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _E.DRAFT): _S.IN_PROGRESS,
    (_S.COMPLETED, _E.DRAFT): _S.IN_PROGRESS,
    (_S.STALE, _E.DRAFT): _S.IN_PROGRESS,
    (_S.NOT_STARTED, _E.EDIT): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _E.EDIT): _S.IN_PROGRESS,
    # A person polishing an approved text keeps it approved; rewriting a stale one reopens it.
    (_S.COMPLETED, _E.EDIT): _S.COMPLETED,
    (_S.STALE, _E.EDIT): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _E.APPROVE): _S.COMPLETED,
    (_S.COMPLETED, _E.APPROVE): _S.COMPLETED,
    (_S.STALE, _E.APPROVE): _S.COMPLETED,
    (_S.IN_PROGRESS, _E.UPSTREAM_CHANGED): _S.STALE,
    (_S.COMPLETED, _E.UPSTREAM_CHANGED): _S.STALE,
    (_S.STALE, _E.UPSTREAM_CHANGED): _S.STALE,
}
"""Where each event leads from each status; a missing pair is a refused event."""


class StatusConflictError(DomainError):
    """``conflict``: the event cannot happen to a phase in its current status."""

    def __init__(self, number: int, status: PhaseStatus, event: PhaseEvent) -> None:
        super().__init__(
            "conflict",
            f"phase {number} is {status.replace('_', ' ')}: it cannot take '{event}'",
            status=str(status),
            event=str(event),
        )


class NoDraftError(DomainError):
    """``conflict``: approving needs a draft, and the phase has none yet."""

    def __init__(self, number: int) -> None:
        super().__init__(
            "conflict",
            f"phase {number} has no draft to approve yet; answer its questions or ask for a "
            "draft first",
            current_version=None,
        )


def status_of(row: Phase) -> PhaseStatus:
    """The status of ``row`` as the enum."""
    return PhaseStatus(row.status)


def after(status: PhaseStatus, event: PhaseEvent) -> PhaseStatus | None:
    """The status ``event`` leads to from ``status``; None when it cannot happen."""
    return TRANSITIONS.get((status, event))


def advance(row: Phase, event: PhaseEvent) -> bool:
    """Apply ``event`` to ``row``; True when its status changed.

    Raises :class:`StatusConflictError` when the table has no entry for the pair, and
    :class:`NoDraftError` when ``event`` approves a phase without a version: the one place
    the rule "approving needs a draft" is written.
    """
    current = status_of(row)
    if event is PhaseEvent.APPROVE and row.current_version is None:
        raise NoDraftError(row.number)
    target = after(current, event)
    if target is None:
        raise StatusConflictError(row.number, current, event)
    row.status = target.value
    return target is not current
