"""What the phase workflow makes of a model's structured answers: drafts rendered clean, turn
readings that fit where the phase stands."""

from __future__ import annotations

from server.phases.reading import TurnReading, turn_kind
from server.phases.writing import Draft, DraftPart, render_draft


def test_a_draft_renders_as_one_clean_section() -> None:
    draft = Draft(
        [
            DraftPart("Vision", "## Vision\n\nWe bake for Lyon.", []),
            DraftPart(
                "### Market",
                "> About 1,200 bakeries [S2].\n\n\n\n>> Most run by owners.",
                ["S2", "S4"],
            ),
            DraftPart("Empty", "  ", ["S1"]),
        ]
    )
    assert render_draft("Vision", draft) == (
        "## Vision\n\nWe bake for Lyon.\n\n### Market\n\n"
        "About 1,200 bakeries [S2].\n\nMost run by owners. [S4]"
    )


def reading(kind: str, question: int | None = None, command: str | None = None) -> TurnReading:
    return TurnReading(kind, question, command)  # type: ignore[arg-type]


def test_readings_are_taken_as_far_as_they_fit_the_phase() -> None:
    pending = {"pending": 1, "draft_waiting": False, "count": 4, "answered": {0}}
    waiting = {"pending": None, "draft_waiting": True, "count": 4, "answered": {0, 1, 2, 3}}
    assert turn_kind(reading("answer", 3), **pending) == ("answer", 2)
    # An answer to a question answered already, or to none, goes to the pending one.
    assert turn_kind(reading("answer", 1), **pending) == ("answer", 1)
    assert turn_kind(reading("answer", 9), **pending) == ("answer", 1)
    assert turn_kind(reading("change_request"), **pending) == ("answer", 1)
    assert turn_kind(reading("free_question"), **pending) == ("question", None)
    assert turn_kind(reading("command", command="that_was_an_answer"), **pending) == (
        "was_answer",
        None,
    )
    # Approving needs a draft; with one, anything but a question or command is a change.
    assert turn_kind(reading("command", command="approve"), **waiting) == ("approve", None)
    assert turn_kind(reading("answer", 2), **waiting) == ("change", None)
    assert turn_kind(reading("change_request"), **waiting) == ("change", None)
