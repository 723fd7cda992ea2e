"""Chat over WebSocket, side by side: our server, a minimal Chainlit app, the bare Litestar handler.

All three stream the same ``TOKENS`` tokens a reply from the same zero-latency generator
(:mod:`bench._zero`) and are driven by the same client (:mod:`bench._protocols`, real WebSocket
connections). Ours runs as ``make run`` starts it, on its own embedded PostgreSQL, persisting
everything (both messages, usage, memory embeddings); Chainlit persists nothing; the bare handler
is the floor for pushing that many frames through uvicorn.

Measured, in one run with the three servers up side by side:

1. idle memory per connection on the fresh servers: RSS growth of the server process with
   ``IDLE_CONNECTIONS`` connections open (ours: each joined to its own new session; Chainlit:
   each with its session started), divided by their number;
2. for 1, 10, 40 and 200 concurrent sessions (``LEVELS``), ``TURNS`` turns a session, each
   waited for: turns/s (completed turns over the wall time, connections already open) and the
   time to the first delta of each turn, p50 and p95, the levels interleaved server by server.

``--profile`` also samples our server with py-spy (from the benchmark's environment) during the
40-session level and prints where its time goes.

Run: ``make bench-chat`` (it makes the benchmark's environment with Chainlit in it). Writes
bench/results/chat.json (and bench/results/chat-profile.txt with ``--profile``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench._protocols import ChainlitChat, EchoChat, OurChat, hold_idle
from bench._servers import (
    Server,
    bench_env,
    cpu_s,
    raise_fd_limit,
    rss_kib,
    start_chainlit,
    start_echo,
    start_ours,
)
from bench._zero import TOKENS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from bench._protocols import Chat

    Opener = Callable[[], Awaitable[Chat]]

LEVELS = (1, 10, 40, 200)
TURNS = 8
IDLE_CONNECTIONS = 1000
IDLE_HOLD_S = 5
"""How long the idle connections are held open while the server's CPU use is measured."""
OPEN_BATCH = 50
"""Connections opened at once: a burst the size of a busy moment, not a connection storm."""
PROFILED_LEVEL = 40
RESULTS = Path(__file__).resolve().parent / "results" / "chat.json"
PROFILE = RESULTS.with_name("chat-profile.txt")
SERVERS = ("ours", "chainlit", "bare")


def openers(servers: dict[str, Server]) -> dict[str, Opener]:
    """How to open one conversation with each server."""
    ours, chainlit, bare = servers["ours"], servers["chainlit"], servers["bare"]
    ours_url = f"ws://127.0.0.1:{ours.port}/ws/chat"
    # Each session in its own project, the next one each time: a user writing their own
    # document (sessions of one project share its phases, whose drafts take their row locks).
    projects = itertools.cycle(ours.projects)

    async def open_ours() -> Chat:
        return await OurChat.open(ours_url, ours.extra["token"], next(projects))

    async def open_chainlit() -> Chat:
        return await ChainlitChat.open(f"ws://127.0.0.1:{chainlit.port}")

    async def open_bare() -> Chat:
        return await EchoChat.open(f"ws://127.0.0.1:{bare.port}/ws/echo")

    return {"ours": open_ours, "chainlit": open_chainlit, "bare": open_bare}


async def open_many(open_chat: Opener, count: int) -> list[Chat]:
    """``count`` open conversations, opened ``OPEN_BATCH`` at a time."""
    chats: list[Chat] = []
    for start in range(0, count, OPEN_BATCH):
        batch = min(OPEN_BATCH, count - start)
        chats.extend(await asyncio.gather(*(open_chat() for _ in range(batch))))
    return chats


async def close_all(chats: list[Chat]) -> None:
    """Close every conversation."""
    await asyncio.gather(*(chat.close() for chat in chats), return_exceptions=True)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (sorted here)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def converse(chat: Chat, turns: int, latencies: list[float], errors: list[str]) -> None:
    """``turns`` turns, each waited for; a failed turn ends the session and is counted."""
    for n in range(turns):
        try:
            latencies.append(await chat.turn(f"message {n} about the bakery plan"))
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")
            return


async def level(
    open_chat: Opener, sessions: int, turns: int = TURNS, server: Server | None = None
) -> dict[str, Any]:
    """``sessions`` concurrent sessions of ``turns`` turns: throughput, first-delta times, and
    the CPU time the server (and its database) spent per turn."""
    chats = await open_many(open_chat, sessions)
    latencies: list[float] = []
    errors: list[str] = []
    server_pids = [server.pid] if server is not None else []
    database = server.database_pid() if server is not None else None
    cpu_before = cpu_s(server_pids), cpu_s([database] if database else [])
    started = time.perf_counter()
    await asyncio.gather(*(converse(chat, turns, latencies, errors) for chat in chats))
    wall = time.perf_counter() - started
    cpu_after = cpu_s(server_pids), cpu_s([database] if database else [])
    await close_all(chats)
    done = max(1, len(latencies))
    result: dict[str, Any] = {
        "sessions": sessions,
        "turns": len(latencies),
        "errors": len(errors),
        "wall_s": round(wall, 2),
        "turns_per_s": round(len(latencies) / wall, 1),
        "server_cpu_ms_per_turn": round((cpu_after[0] - cpu_before[0]) * 1000 / done, 2),
    }
    if database:
        spent = cpu_after[1] - cpu_before[1]
        result["database_cpu_ms_per_turn"] = round(spent * 1000 / done, 2)
    if latencies:
        result["first_delta_p50_ms"] = round(statistics.median(latencies) * 1000, 1)
        result["first_delta_p95_ms"] = round(percentile(latencies, 0.95) * 1000, 1)
    if errors:
        result["first_errors"] = sorted(set(errors))[:5]
    return result


async def idle_memory(server: Server, open_chat: Opener) -> dict[str, Any]:
    """Server RSS growth per connection with ``IDLE_CONNECTIONS`` idle connections open, and
    the server's CPU use while they stay idle."""
    await asyncio.sleep(1)
    before = rss_kib(server.pid)
    chats = await open_many(open_chat, IDLE_CONNECTIONS)
    keepers = hold_idle(chats)
    await asyncio.sleep(1)
    cpu_before = cpu_s([server.pid])
    await asyncio.sleep(IDLE_HOLD_S)
    idle_cpu = cpu_s([server.pid]) - cpu_before
    after = rss_kib(server.pid)
    await close_all(chats)
    for keeper in keepers:
        keeper.cancel()
    await asyncio.gather(*keepers, return_exceptions=True)
    return {
        "connections": IDLE_CONNECTIONS,
        "rss_before_mib": round(before / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "kib_per_connection": round((after - before) / IDLE_CONNECTIONS, 1),
        "idle_cpu_percent": round(100 * idle_cpu / IDLE_HOLD_S, 1),
    }


class Profiler:
    """py-spy sampling a server process, from the benchmark's environment."""

    def __init__(self, pid: int) -> None:
        command = [
            str(bench_env() / "bin" / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--nonblocking",
            "--output",
            str(PROFILE),
        ]
        PROFILE.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def stop(self) -> None:
        """Stop sampling; py-spy writes the collapsed stacks on SIGINT."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)


def summarise_profile(path: Path, top: int = 25) -> list[tuple[str, float, float]]:
    """``(frame, inclusive %, own %)`` of the frames that cost most, from py-spy's raw output."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short(frame) for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    if not total:
        return []
    ranked = sorted(inclusive, key=lambda f: own.get(f, 0), reverse=True)[:top]
    return [
        (frame, 100 * inclusive[frame] / total, 100 * own.get(frame, 0) / total) for frame in ranked
    ]


def _short(frame: str) -> str:
    """``function (path/to/module.py:line)`` as ``function (module area)``, lines dropped."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "wt-chat-bench/", "/lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"


async def _chainlit_without_deflate(work_dir: Path) -> dict[str, Any]:
    """Idle memory of a fresh Chainlit with permessage-deflate off, as ours runs: what the
    compression costs either server per connection, and what is left."""
    server = start_chainlit(work_dir, deflate=False)
    try:

        async def open_chat() -> Chat:
            return await ChainlitChat.open(f"ws://127.0.0.1:{server.port}")

        await level(open_chat, 1, 2)
        return await idle_memory(server, open_chat)
    finally:
        server.stop()


async def run(*, profile: bool, levels: tuple[int, ...], idle: bool) -> dict[str, Any]:
    """Start the three servers, measure, stop them."""
    raise_fd_limit()
    results: dict[str, Any] = {
        "tokens_per_reply": TOKENS,
        "turns_per_session": TURNS,
        "memory": {},
        "levels": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        servers: dict[str, Server] = {}
        try:
            servers["ours"] = start_ours(Path(tmp) / "ours", projects=max(levels, default=1))
            servers["chainlit"] = start_chainlit(Path(tmp) / "chainlit")
            servers["bare"] = start_echo()
            opens = openers(servers)
            for name in SERVERS:  # warm up: code paths loaded, models read, before measuring
                warm = await level(opens[name], 1, 2)
                if warm["errors"]:
                    raise RuntimeError(f"{name} failed its warm-up: {warm['first_errors']}")
            if idle:
                for name in SERVERS:
                    results["memory"][name] = await idle_memory(servers[name], opens[name])
                    print(f"idle memory {name}: {results['memory'][name]}", flush=True)
                results["memory"]["chainlit-no-deflate"] = await _chainlit_without_deflate(
                    Path(tmp) / "chainlit-no-deflate"
                )
            for sessions in levels:
                row: dict[str, Any] = {"sessions": sessions}
                for name in SERVERS:
                    profiler = (
                        Profiler(servers[name].pid)
                        if profile and name == "ours" and sessions == PROFILED_LEVEL
                        else None
                    )
                    try:
                        row[name] = await level(opens[name], sessions, server=servers[name])
                    finally:
                        if profiler is not None:
                            profiler.stop()
                    print(f"{sessions:>4} sessions {name:>9}: {row[name]}", flush=True)
                results["levels"].append(row)
        finally:
            for server in servers.values():
                server.stop()
    return results


def _cell(cell: dict[str, Any], key: str) -> str:
    return str(cell.get(key, "-"))


def report(results: dict[str, Any]) -> None:
    """Print the table and write the results file."""
    print(f"\n{TURNS} turns a session, {TOKENS} tokens a reply, zero-latency provider")
    print(
        f"{'sessions':>8}  {'server':<9} {'turns/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'errors':>6} {'CPU ms/turn':>11} {'+db':>6}"
    )
    for row in results["levels"]:
        for name in SERVERS:
            cell = row[name]
            p50, p95 = _cell(cell, "first_delta_p50_ms"), _cell(cell, "first_delta_p95_ms")
            cpu, db = _cell(cell, "server_cpu_ms_per_turn"), _cell(cell, "database_cpu_ms_per_turn")
            print(
                f"{row['sessions']:>8}  {name:<9} {cell['turns_per_s']:>8} {p50:>8} {p95:>8} "
                f"{cell['errors']:>6} {cpu:>11} {db:>6}"
            )
        ours, chainlit = row["ours"], row["chainlit"]
        if chainlit["turns_per_s"] and "first_delta_p50_ms" in ours:
            throughput = ours["turns_per_s"] / chainlit["turns_per_s"]
            latency = ours["first_delta_p50_ms"] / chainlit["first_delta_p50_ms"]
            row["ours_vs_chainlit"] = {"turns_per_s": throughput, "first_delta_p50": latency}
            print(
                f"{'':>8}  ours/chainlit: turns/s x{throughput:.2f}, first delta p50 x{latency:.2f}"
            )
    for name, memory in results["memory"].items():
        print(
            f"idle memory {name:<9} {memory['kib_per_connection']:>6} KiB per connection "
            f"({memory['connections']} connections, RSS {memory['rss_before_mib']} -> "
            f"{memory['rss_after_mib']} MiB; CPU {memory['idle_cpu_percent']}% while idle)"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"written to {RESULTS}")
    if results.get("profiled") and PROFILE.exists():
        print(f"\nour server at {PROFILED_LEVEL} sessions (py-spy, {PROFILE}):")
        print(f"{'inclusive %':>11} {'own %':>6}  frame")
        for frame, inclusive, own in summarise_profile(PROFILE):
            print(f"{inclusive:>11.1f} {own:>6.1f}  {frame}")


def main() -> None:
    """``make bench-chat``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--profile", action="store_true", help="py-spy our server at 40 sessions")
    parser.add_argument(
        "--levels",
        default=",".join(map(str, LEVELS)),
        help="concurrent sessions to measure, comma-separated (default: %(default)s)",
    )
    parser.add_argument("--no-idle", action="store_true", help="skip the idle-memory measure")
    args = parser.parse_args()
    levels = tuple(int(n) for n in args.levels.split(",") if n)
    with contextlib.suppress(KeyboardInterrupt):
        results = asyncio.run(run(profile=args.profile, levels=levels, idle=not args.no_idle))
        results["profiled"] = args.profile and PROFILED_LEVEL in levels
        report(results)


if __name__ == "__main__":
    main()
