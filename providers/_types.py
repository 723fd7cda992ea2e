"""The types every provider speaks: requests, stream events, usage records and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import msgspec

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

Role = Literal["system", "user", "assistant"]
Intent = Literal["chat", "question", "draft", "ask"]
ErrorKind = Literal[
    "timeout",
    "connection",
    "rate_limited",
    "server",
    "overloaded",
    "auth",
    "bad_request",
    "malformed",
    "not_configured",
    "invalid_output",
]


class Message(msgspec.Struct, frozen=True):
    """One turn of the prompt sent to a model."""

    role: Role
    content: str


class Passage(msgspec.Struct, frozen=True):
    """A retrieved piece of the user's own material that a reply may quote and cite."""

    ref: str
    """Citation key the reply uses, e.g. ``"S1"``."""
    text: str
    source: str
    """Human label: ``"plan.pdf, p. 3, Market > Size"`` or ``"conversation, 2026-03-02"``."""
    document_id: str | None = None
    chunk_id: str | None = None
    message_id: str | None = None
    """For a passage of the conversation: the message it came from."""
    page: int | None = None
    score: float = 0.0
    topic: str = ""
    """What the passage is about beyond its own words: for a recorded answer, its question."""


class Answer(msgspec.Struct, frozen=True):
    """A question the assistant asked and what the user answered."""

    question: str
    answer: str


class ReplyContext(msgspec.Struct, frozen=True):
    """What the prompt was built from, in structured form.

    Model-backed providers read only ``ChatRequest.messages`` (the server renders this context
    into them). The offline ``local`` provider cannot read prose instructions, so it composes its
    reply from these fields instead.
    """

    intent: Intent = "chat"
    """``chat``: free conversation; ``question``: answer from passages; ``draft``: write a phase;
    ``ask``: ask the user the next question of a phase."""
    user_message: str = ""
    phase_number: int | None = None
    phase_title: str | None = None
    phase_goal: str | None = None
    instructions: str | None = None
    next_question: str | None = None
    answers: tuple[Answer, ...] = ()
    dependencies: tuple[tuple[str, str], ...] = ()
    """(phase title, summary of its current content) for the phases this one depends on."""
    passages: tuple[Passage, ...] = ()
    gaps: tuple[str, ...] = ()
    """Phases this one depends on that have no content yet."""
    question_number: int | None = None
    """For ``ask``: which question ``next_question`` is (from 1), of ``question_count``."""
    question_count: int | None = None
    noted: int | None = None
    """For ``ask``: the question (from 1) the user's message was recorded as the answer to."""
    previous: str = ""
    """For ``draft``: the current version, when ``feedback`` asks for changes to it."""
    feedback: str = ""
    """For ``draft``: the changes the user asked for."""
    notice: bool = True
    """Whether the offline provider still has to say, once, that it is not an AI model."""


class Output(msgspec.Struct, frozen=True):
    """What a structured request asks for: a JSON value of ``type`` (a msgspec Struct).

    ``render`` turns the decoded value into the reply text when the request is streamed to a
    user (e.g. a draft's sections as Markdown); without it the reply text is the JSON itself.
    """

    type: Any
    name: str
    description: str = ""
    render: Callable[[Any], str] | None = None

    def schema(self) -> dict[str, Any]:
        """The JSON schema of ``type``, self-contained (no ``$ref``) and closed.

        Every API takes this shape: OpenAI's strict mode wants an object at the root, every
        property required and no others allowed; Gemini and Anthropic accept it as is.
        """
        raw: dict[str, Any] = msgspec.json.schema(self.type)
        defs: dict[str, Any] = raw.pop("$defs", {})
        closed: dict[str, Any] = _closed(_inline(raw, defs))
        return closed


class TextKeeper(Protocol):
    """Rewrites a reply's text as it streams (see ``CitationKeeper``)."""

    def feed(self, text: str) -> str:
        """The part of the reply so far that can be shown, ``text`` included."""
        ...

    def finish(self) -> str:
        """The rest of the reply, once the last piece was fed."""
        ...


class ChatRequest(msgspec.Struct, frozen=True):
    """A chat completion request, independent of any provider."""

    messages: tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    context: ReplyContext = msgspec.field(default_factory=ReplyContext)
    partial: str = ""
    """Reply text an earlier provider streamed before it failed; the reply continues after it."""
    output: Output | None = None
    """Ask for a structured answer: providers that can give one answer with JSON of this
    shape (rendered into the reply text); the others (the offline ``local`` provider) stream
    their reply as usual, composed from ``context``."""
    citations: TextKeeper | None = None
    """Keeps the reply's ``[S#]`` markers true to the passages while it streams."""


class TextDelta(msgspec.Struct, frozen=True, tag="delta"):
    """A piece of streamed reply text."""

    text: str
    provider: str


class Usage(msgspec.Struct, frozen=True):
    """Token counts of one provider call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


class StreamEnd(msgspec.Struct, frozen=True, tag="end"):
    """Last event of one adapter's stream: its usage and why it stopped."""

    usage: Usage
    finish_reason: str


class Hop(msgspec.Struct, frozen=True):
    """One provider's part in a routed reply: what it streamed, or why it failed."""

    provider: str
    model: str
    ok: bool
    error: str | None = None
    error_kind: ErrorKind | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    chars_streamed: int = 0
    attempts: int = 0
    """Calls made to this provider (retries included); 0 when it was skipped."""


class Completion(msgspec.Struct, frozen=True, tag="completion"):
    """Last event of a routed reply: who answered, usage and cost across every hop."""

    provider: str
    model: str
    finish_reason: str
    usage: Usage
    cost_usd: float
    latency_ms: float
    hops: tuple[Hop, ...]


class ProviderError(Exception):
    """A provider call failed; ``kind`` decides whether the router retries or falls back."""

    def __init__(
        self,
        provider: str,
        kind: ErrorKind,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(f"{provider}: {kind}: {message}")
        self.provider = provider
        self.kind: ErrorKind = kind
        self.message = message
        self.retry_after = retry_after
        self.status = status
        self.usage = usage
        """Tokens the failed call was billed for, when the provider said (an answer that did
        not fit its schema was still generated)."""

    @property
    def retryable(self) -> bool:
        """Whether trying again, here or on the next provider, may succeed."""
        return self.kind in {"timeout", "connection", "rate_limited", "server", "overloaded"}


class ProvidersUnavailable(Exception):  # noqa: N818 - named by the protocol's error code
    """Every provider of a profile's chain failed or was skipped."""

    code = "provider_unavailable"

    def __init__(self, hops: Sequence[Hop]) -> None:
        self.hops = tuple(hops)
        tried = "; ".join(f"{h.provider}/{h.model}: {h.error}" for h in self.hops) or "none"
        super().__init__(f"no provider could answer (tried {tried})")


class ChatProvider(Protocol):
    """A chat model endpoint of one provider."""

    name: str

    def stream(self, request: ChatRequest, model: str) -> AsyncIterator[TextDelta | StreamEnd]:
        """Stream the reply: text deltas, then exactly one ``StreamEnd``.

        Raises ``ProviderError`` on failure. Closing the iterator closes the upstream request.
        """
        ...


class Embedder(Protocol):
    """Turns texts into vectors of a fixed dimension."""

    provider: str
    model: str
    dimensions: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order."""
        ...


@runtime_checkable
class TokenIdEmbedder(Embedder, Protocol):
    """An embedder that also takes texts as their ids under a tokenizer it names (None: it
    takes none), saving a caller that has them the tokenizing."""

    tokenizer: str | None

    async def embed_token_ids(self, rows: Sequence[Sequence[int]]) -> list[list[float]]:
        """One unit-length vector per text given as its token ids, in order: what `embed`
        gives the texts."""
        ...


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            return _inline(defs[ref.rsplit("/", 1)[-1]], defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def _closed(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _closed(value) for key, value in node.items()}
        if node.get("type") == "object" and "properties" in node:
            node["required"] = list(node["properties"])
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node
