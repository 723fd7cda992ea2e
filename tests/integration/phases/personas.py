"""The conversation test corpus: scripted people writing real documents with the assistant.

Each persona has a business, a way of writing (terse or verbose, answers that end in question
marks), and moments that test the conversation: a change request on a draft, a free question
about something decided earlier, a misfiled answer moved back with "that was an answer", a
jump ahead and back, a change of mind, an uploaded document. The walk in
``test_personas.py`` plays every script over a real WebSocket and checks invariants, not
snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Moment:
    """Something the persona does at a phase, besides answering its questions."""

    kind: str
    """``change`` (after the draft), ``free_question`` (before answering), ``misfiled`` (the
    given question's answer phrased as a question, then "that was an answer"), ``jump``
    (to ``target`` and back, answering its first question there), ``change_of_mind`` (after
    approval: ``/answer`` with a new text, then ``/regenerate``)."""
    text: str = ""
    expect: str = ""
    """A piece of text the reply (or the next version) must contain."""
    question: int = 0
    target: int = 0


@dataclass(frozen=True)
class Persona:
    """A scripted person: how they answer and what else they do."""

    name: str
    template: str
    business: str
    verbose: bool
    answers: dict[tuple[int, int], str] = field(default_factory=dict)
    """Answers written out for (phase, question from 0); the others are built by ``answer``."""
    moments: dict[int, tuple[Moment, ...]] = field(default_factory=dict)
    document: tuple[str, str] | None = None
    """(file name, Markdown text) uploaded before the walk."""

    def answer(self, phase: int, index: int, title: str) -> str:
        """What this persona says to question ``index`` of phase ``phase``."""
        if (phase, index) in self.answers:
            return self.answers[(phase, index)]
        if self.verbose:
            return (
                f"For the {title.lower()} part, point {index + 1}: {self.business}, and we have "
                f"thought this through with our first customers - is that the kind of detail "
                f"you are after?"
            )
        return f"{title}, {index + 1}: {self.business}."


ANA = Persona(
    name="Ana",
    template="business-plan",
    business="ordering software for independent bakeries in Lyon",
    verbose=True,
    answers={
        (1, 0): "We build ordering software for independent bakeries in Lyon, so that they "
        "can take pre-orders online and bake only what is sold?",
        (5, 0): "About 1,200 independent bakeries in the Lyon area, of which we can reach "
        "maybe 400 in three years.",
        (7, 0): "A subscription of 49 euros per shop per month, billed yearly.",
        (7, 1): "We set the price at 49 euros per shop after twelve interviews with bakery owners.",
    },
    moments={
        1: (
            Moment(
                "change",
                text="Please make it shorter and drop the quotes from our documents",
            ),
        ),
        3: (
            Moment(
                "misfiled",
                question=1,
                text="What do you think, every single morning when the bread runs out by ten?",
            ),
        ),
        8: (
            Moment(
                "free_question",
                text="What price per shop did we decide on?",
                expect="49 euros per shop",
            ),
        ),
    },
    document=(
        "ana-market.md",
        "# Bakery market in Lyon\n\n"
        "The Lyon area counts about 1,200 independent bakeries, most of them run by their "
        "owners. Independent bakeries in Lyon lose sales every morning when popular bread "
        "runs out before noon.\n\n"
        "# Appendix: tracing internals\n\n"
        "The JavaScript tracing agent patches async hooks to propagate span context across "
        "promise chains and timers.\n",
    ),
)

BO = Persona(
    name="Bo",
    template="business-plan",
    business="solar water pumps rented to smallholder farms",
    verbose=False,
    answers={(10, 0): "Bo (engineer, 8 years of pump design) and Lin (sales)."},
    moments={
        2: (Moment("jump", target=6),),
        5: (
            Moment(
                "change_of_mind",
                question=0,
                text="About 30,000 smallholder farms in the region, not 10,000.",
                expect="30,000 smallholder farms",
            ),
        ),
        11: (
            Moment(
                "free_question",
                text="Who are the key people and founders again?",
                expect="Bo (engineer",
            ),
        ),
        12: (Moment("change", text="Make it longer and more persuasive"),),
    },
)

CHIDI = Persona(
    name="Chidi",
    template="grant-proposal",
    business="a reading club for children in the Riverside estate",
    verbose=True,
    answers={
        (1, 0): "Children in the Riverside estate read below their age level; many homes "
        "have no books at all. Is that the sort of need you mean?",
        (7, 0): "We ask for 18,000 pounds over one year: books, a part-time coordinator and "
        "snacks.",
    },
    moments={
        2: (Moment("change", text="Rename the section, no - just drop the quotes please"),),
        9: (
            Moment(
                "free_question",
                text="What total amount did we request?",
                expect="18,000 pounds",
            ),
        ),
    },
)

PERSONAS = (ANA, BO, CHIDI)
