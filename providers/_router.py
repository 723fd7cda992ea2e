"""The fallback router: a profile's chain, retries, cool-downs and mid-stream continuation."""

from __future__ import annotations

import asyncio
import random
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import msgspec

from ._config import LOCAL_MODEL
from ._prompt import request_messages
from ._structured import Structured, StructuredProvider, decode_output
from ._types import (
    Completion,
    Hop,
    ProviderError,
    ProvidersUnavailable,
    StreamEnd,
    TextDelta,
    Usage,
)
from ._usage import cost_usd, estimate_prompt_tokens, estimate_tokens

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from ._config import ChainStep, Profile, ProvidersConfig, RoutingSettings
    from ._registry import Registry
    from ._types import ChatProvider, ChatRequest, ErrorKind, Output


_T = TypeVar("_T")


class _Health:
    """Consecutive failures and cool-down deadlines per provider, shared by all requests."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.until: dict[str, float] = {}
        self.last_kind: dict[str, ErrorKind] = {}

    def remaining(self, provider: str, now: float) -> float:
        return max(0.0, self.until.get(provider, 0.0) - now)

    def succeeded(self, provider: str) -> None:
        self.failures.pop(provider, None)

    def failed(
        self, provider: str, error: ProviderError, now: float, rules: RoutingSettings
    ) -> None:
        self.last_kind[provider] = error.kind
        count = self.failures.get(provider, 0) + 1
        if count >= rules.cooldown_after:
            self.until[provider] = max(self.until.get(provider, 0.0), now + rules.cooldown_s)
            count = 0
        self.failures[provider] = count

    def cool(self, provider: str, seconds: float, now: float) -> None:
        self.until[provider] = max(self.until.get(provider, 0.0), now + seconds)


class Router:
    """Streams a reply through a profile's chain until one provider finishes it.

    One Router per process: its cool-downs are shared by every request. ``clock``, ``sleep``
    and ``rng`` exist so tests can step time instead of waiting for it.
    """

    def __init__(
        self,
        config: ProvidersConfig,
        registry: Registry,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._registry = registry
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._health = _Health()

    def reconfigure(self, config: ProvidersConfig, registry: Registry) -> None:
        """Switch to a reloaded config.json, keeping the providers' cool-downs."""
        self._config = config
        self._registry = registry

    def cooldowns(self) -> dict[str, float]:
        """Seconds of cool-down left per provider, for the ones cooling down now."""
        now = self._clock()
        return {
            name: left
            for name in self._health.until
            if (left := self._health.remaining(name, now)) > 0
        }

    def has_model(self, profile: str | None = None) -> bool:
        """Whether ``profile``'s chain names a provider that can give structured answers and
        is configured (an AI model, not only the offline ``local`` provider)."""
        chain = self._config.profile(profile)
        return any(
            isinstance(self._registry.chat.get(step.provider), StructuredProvider)
            for step in chain.chain
        )

    async def stream(
        self, request: ChatRequest, profile: str | None = None
    ) -> AsyncIterator[TextDelta | Completion]:
        """Stream the reply to ``request`` through ``profile`` (default: the active one).

        Yields text deltas, then one ``Completion`` naming every provider that took part.
        Raises ``ProvidersUnavailable`` when no provider could finish the reply, and
        ``ConfigError`` for an unknown profile. Closing the iterator closes the upstream call.
        With ``request.output``, providers that can answer with structured output do, and the
        rendered answer is the reply; with ``request.citations``, its markers are kept true
        to the passages as the text goes by.
        """
        keeper = request.citations
        async with _closing(self._route(request, profile, structured_only=False)) as events:
            async for event in events:
                if keeper is None:
                    yield event
                elif isinstance(event, TextDelta):
                    if shown := keeper.feed(event.text):
                        yield msgspec.structs.replace(event, text=shown)
                else:
                    if rest := keeper.finish():
                        yield TextDelta(text=rest, provider=event.provider)
                    yield event

    async def structured(
        self, request: ChatRequest, output: Output, profile: str | None = None
    ) -> Structured:
        """A structured answer to ``request``: JSON of ``output.type``, decoded.

        Tries the providers of ``profile``'s chain that can give structured output, with the
        same retries, fallback and cool-downs as :meth:`stream` (an answer that does not fit
        the schema moves on to the next provider); raises ``ProvidersUnavailable`` when none
        could, naming why for each (the ``local`` provider never can).
        """
        asked = msgspec.structs.replace(request, output=output, citations=None)
        values: list[object] = []
        async with _closing(
            self._route(asked, profile, structured_only=True, values=values)
        ) as events:
            async for event in events:
                if isinstance(event, Completion):
                    return Structured(value=values[-1], completion=event)
        raise AssertionError("a routed answer always ends with a completion")  # pragma: no cover

    async def _route(
        self,
        request: ChatRequest,
        profile: str | None,
        *,
        structured_only: bool,
        values: list[object] | None = None,
    ) -> AsyncIterator[TextDelta | Completion]:
        """The chain walk behind :meth:`stream` and :meth:`structured`."""
        chain = self._config.profile(profile)
        started = self._clock()
        hops: list[Hop] = []
        skipped: list[Hop] = []
        said: list[str] = []
        for step in chain.chain:
            model = step.model or LOCAL_MODEL
            provider = self._registry.chat.get(step.provider)
            if provider is None:
                reason = self._registry.skipped.get(step.provider, "not configured")
                skipped.append(_skip(step.provider, model, reason, "not_configured"))
                continue
            structured = request.output is not None and isinstance(provider, StructuredProvider)
            if structured_only and not structured:
                reason = "gives no structured output"
                skipped.append(_skip(step.provider, model, reason, "not_configured"))
                continue
            left = self._health.remaining(step.provider, self._clock())
            if left > 0:
                kind = self._health.last_kind.get(step.provider, "server")
                hops.append(_skip(step.provider, model, f"cooling down, {left:.0f}s left", kind))
                continue
            routed = _with_params(request, chain, step, "".join(said))
            outcome = _Outcome()
            opener = (
                _answer(provider, values if values is not None else [])
                if structured
                else provider.stream
            )
            async with _closing(self._call(provider, opener, routed, model, outcome)) as deltas:
                async for delta in deltas:
                    said.append(delta.text)
                    yield delta
            hops.append(outcome.hop)
            if outcome.end is not None:
                usage = Usage(
                    sum(h.prompt_tokens for h in hops), sum(h.completion_tokens for h in hops)
                )
                yield Completion(
                    provider=step.provider,
                    model=model,
                    finish_reason=outcome.end.finish_reason,
                    usage=usage,
                    cost_usd=sum(h.cost_usd for h in hops),
                    latency_ms=(self._clock() - started) * 1000,
                    hops=tuple(hops),
                )
                return
        raise ProvidersUnavailable([*skipped, *hops])

    async def _call(
        self,
        provider: ChatProvider,
        opener: Callable[[ChatRequest, str], AsyncIterator[TextDelta | StreamEnd]],
        request: ChatRequest,
        model: str,
        outcome: _Outcome,
    ) -> AsyncIterator[TextDelta]:
        """One chain step: retries before the first token, then a ``Hop`` in ``outcome``."""
        rules = self._config.routing
        name = provider.name
        started = self._clock()
        texts: list[str] = []
        attempt = 0
        while True:
            attempt += 1
            outcome.end = None
            try:
                async with _closing(opener(request, model)) as events:
                    async for event in events:
                        if isinstance(event, StreamEnd):
                            outcome.end = event
                        elif event.text:
                            texts.append(event.text)
                            yield event
                    if outcome.end is None:
                        raise _no_end(name)
            except ProviderError as error:
                if error.kind != "bad_request":
                    # A refused request says nothing about the provider's health.
                    self._health.failed(name, error, self._clock(), rules)
                wait = self._retry_wait(error, attempt, bool(texts))
                if wait is not None:
                    await self._sleep(wait)
                    continue
                if error.retry_after is not None and error.retry_after > rules.max_retry_after_s:
                    self._health.cool(name, error.retry_after, self._clock())
                usage = error.usage or Usage()
                if texts:
                    # A reply cut off mid-stream reports no usage; the provider billed it anyway.
                    usage = Usage(
                        estimate_prompt_tokens(request_messages(request)),
                        estimate_tokens("".join(texts)),
                    )
                outcome.hop = self._hop(
                    name, model, started, texts, attempts=attempt, usage=usage, error=error
                )
                return
            self._health.succeeded(name)
            outcome.hop = self._hop(
                name, model, started, texts, attempts=attempt, usage=outcome.end.usage
            )
            return

    def _retry_wait(self, error: ProviderError, attempt: int, streamed: bool) -> float | None:
        """Seconds to wait before calling the same provider again, or None to move on."""
        rules = self._config.routing
        if streamed or not error.retryable or attempt >= rules.attempts:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= rules.max_retry_after_s else None
        ceiling = min(rules.backoff_max_s, rules.backoff_base_s * 2.0 ** (attempt - 1))
        # "Equal jitter": never less than half the backoff, never in lockstep with other callers.
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _hop(
        self,
        provider: str,
        model: str,
        started: float,
        texts: list[str],
        *,
        attempts: int,
        usage: Usage,
        error: ProviderError | None = None,
    ) -> Hop:
        return Hop(
            provider=provider,
            model=model,
            ok=error is None,
            error=error.message if error else None,
            error_kind=error.kind if error else None,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=cost_usd(
                self._config.prices, model, usage.prompt_tokens, usage.completion_tokens
            ),
            latency_ms=(self._clock() - started) * 1000,
            chars_streamed=sum(map(len, texts)),
            attempts=attempts,
        )


@asynccontextmanager
async def _closing(events: AsyncIterator[_T]) -> AsyncIterator[AsyncIterator[_T]]:
    """Close a stream however the step ends; closing an adapter's closes the upstream request."""
    try:
        yield events
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


class _Outcome:
    """What one chain step produced, filled in by ``Router._call``."""

    def __init__(self) -> None:
        self.end: StreamEnd | None = None
        self.hop: Hop


def _answer(
    provider: ChatProvider, values: list[object]
) -> Callable[[ChatRequest, str], AsyncIterator[TextDelta | StreamEnd]]:
    """Opens ``provider``'s structured answer as a stream: the rendered text, then its end;
    the decoded value goes to ``values``."""

    async def events(request: ChatRequest, model: str) -> AsyncIterator[TextDelta | StreamEnd]:
        output = request.output
        assert output is not None
        assert isinstance(provider, StructuredProvider)
        raw = await provider.structured(request, model, output)
        try:
            value = decode_output(provider.name, output, raw.text)
        except ProviderError as error:
            error.usage = raw.usage
            raise
        values.append(value)
        yield TextDelta(
            text=output.render(value) if output.render else raw.text, provider=provider.name
        )
        yield StreamEnd(usage=raw.usage, finish_reason=raw.finish_reason)

    return events


def _no_end(provider: str) -> ProviderError:
    return ProviderError(provider, "malformed", "stream ended without a final record")


def _skip(provider: str, model: str, reason: str, kind: ErrorKind) -> Hop:
    return Hop(provider=provider, model=model, ok=False, error=reason, error_kind=kind)


def _with_params(request: ChatRequest, profile: Profile, step: ChainStep, said: str) -> ChatRequest:
    """The request for one step: its own settings win, then the step's, then the profile's."""
    temperature = request.temperature
    if temperature is None:
        temperature = step.temperature if step.temperature is not None else profile.temperature
    max_tokens = request.max_tokens or step.max_tokens or profile.max_tokens
    return msgspec.structs.replace(
        request, temperature=temperature, max_tokens=max_tokens, partial=request.partial + said
    )
