"""Tokens/s through the router vs the bare OpenAI SDK, against the same fake server.

Run: ``uv run python -m bench.bench_router``. Writes bench/results/router.json.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path

import openai

from providers import ChatRequest, Message, Router, TextDelta, build_registry, parse_config
from tests.fakes import FakeProviders

TOKENS = 1000
ROUNDS = 15
TEXT = " ".join(f"w{i}" for i in range(TOKENS))
RESULTS = Path(__file__).resolve().parent / "results" / "router.json"


async def bare(client: openai.AsyncOpenAI) -> int:
    stream = await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "go"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    count = 0
    async for chunk in stream:
        count += sum(1 for c in chunk.choices if c.delta.content)
    return count


async def routed(router: Router) -> int:
    request = ChatRequest(messages=(Message("user", "go"),))
    return sum([isinstance(e, TextDelta) async for e in router.stream(request)])


async def main() -> None:
    with FakeProviders() as fake:
        config = parse_config(
            {
                "providers": fake.providers_section(),
                "profiles": {"bench": {"chain": [{"provider": "openai", "model": "gpt-4o"}]}},
            }
        )
        registry = build_registry(config, {"OPENAI_API_KEY": "sk-bench"})
        router = Router(config, registry)
        client = openai.AsyncOpenAI(
            api_key="sk-bench", base_url=fake.openai_base_url, max_retries=0
        )
        fake.openai.default_text = TEXT
        timings: dict[str, list[float]] = {"bare SDK": [], "router": []}
        await bare(client), await routed(router)  # warm up connections and imports
        for _ in range(ROUNDS):
            # Alternate so drift in the machine's load hits both sides alike.
            for name, call in (
                ("bare SDK", lambda: bare(client)),
                ("router", lambda: routed(router)),
            ):
                start = time.perf_counter()
                count = await call()
                timings[name].append(time.perf_counter() - start)
                assert count == TOKENS, (name, count)
        await client.close()
        await registry.aclose()
    rows = {
        name: {"median_s": statistics.median(t), "tokens_per_s": TOKENS / statistics.median(t)}
        for name, t in timings.items()
    }
    overhead = rows["router"]["median_s"] / rows["bare SDK"]["median_s"] - 1
    print(f"{TOKENS} streamed tokens, median of {ROUNDS} rounds, same fake server")
    print(f"{'path':<10} {'median ms':>10} {'tokens/s':>10}")
    for name, row in rows.items():
        print(f"{name:<10} {row['median_s'] * 1000:>10.1f} {row['tokens_per_s']:>10.0f}")
    print(f"router overhead: {overhead:+.1%} (target < 5%)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"tokens": TOKENS, "rounds": ROUNDS, **rows, "overhead": overhead}, indent=2)
    )


if __name__ == "__main__":
    asyncio.run(main())
