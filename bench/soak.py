"""``make soak``: many concurrent sessions against one server, then every message checked in its
database.

The server runs as ``make run`` starts it (:mod:`bench._chat_server`: ``assistant serve`` on a
fresh ``DATA_DIR`` with its own embedded PostgreSQL, no Redis), replies streamed by the
zero-latency provider so that the load is all ours: ``SESSIONS`` WebSocket sessions (five to a
project) send ``MESSAGES`` messages each, every one waited for, all sessions at once. Then, in
the server's database:

- every message a client sent is stored exactly once (by its ``client_message_id``), unless the
  server refused it with a ``chat:error`` (counted apart: not a loss, but still a failure);
- every user message has exactly one assistant reply, stored ``complete``;
- each session's ``seq`` runs 1, 2, 3 … without gap or repeat.

Any failed turn, any error line in the server's log, any lost, duplicated or unanswered message
makes it exit 1. Not part of the test suite (minutes long); run it with ``make soak``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench._protocols import OurChat
from bench._servers import Server, raise_fd_limit, start_ours

if TYPE_CHECKING:
    from collections.abc import Sequence

SESSIONS = 500
MESSAGES = 6
TURN_TIMEOUT_S = 120.0
"""A turn whose reply has not arrived by then counts as an error (and the session stops)."""
OPEN_BATCH = 50
SESSIONS_PER_PROJECT = 5
"""Sessions share projects five by five, as a small team would: their turns also contend for
the project's phases."""


@dataclass
class Outcome:
    """What the clients saw."""

    sessions: list[OurChat] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0


async def _open(url: str, token: str, projects: list[str], count: int, outcome: Outcome) -> None:
    for start in range(0, count, OPEN_BATCH):
        batch = range(start, min(start + OPEN_BATCH, count))
        opened = await asyncio.gather(
            *(OurChat.open(url, token, projects[n % len(projects)]) for n in batch),
            return_exceptions=True,
        )
        for chat in opened:
            if isinstance(chat, BaseException):
                outcome.errors.append(f"join: {type(chat).__name__}: {chat}")
            else:
                outcome.sessions.append(chat)


async def _converse(chat: OurChat, messages: int, outcome: Outcome) -> None:
    for n in range(messages):
        try:
            first = await asyncio.wait_for(
                chat.turn(f"message {n} of the soak, about the bakery plan"), TURN_TIMEOUT_S
            )
        except Exception as error:  # a failed turn is a finding, not a crash
            outcome.errors.append(f"turn {n}: {type(error).__name__}: {error}")
            return
        outcome.latencies.append(first)


async def drive(server: Server, sessions: int, messages: int) -> Outcome:
    """Open ``sessions`` sessions, then run ``messages`` turns in each, all at once."""
    outcome = Outcome()
    url = f"ws://127.0.0.1:{server.port}/ws/chat"
    await _open(url, server.extra["token"], server.projects, sessions, outcome)
    started = time.perf_counter()
    await asyncio.gather(*(_converse(chat, messages, outcome) for chat in outcome.sessions))
    outcome.wall_s = time.perf_counter() - started
    await asyncio.gather(*(chat.close() for chat in outcome.sessions), return_exceptions=True)
    return outcome


@dataclass
class Audit:
    """What the database holds, against what the clients sent."""

    sent: int = 0
    stored: int = 0
    lost: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Not stored, and the client was told so (``chat:error`` before the echo)."""
    duplicated: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    answered_twice: list[str] = field(default_factory=list)
    not_complete: list[str] = field(default_factory=list)
    stray_replies: list[str] = field(default_factory=list)
    seq_broken: list[str] = field(default_factory=list)

    @property
    def problems(self) -> dict[str, list[str]]:
        """Every non-empty finding by name."""
        found = {
            "lost": self.lost,
            "refused (not stored, client told)": self.refused,
            "duplicated": self.duplicated,
            "unanswered": self.unanswered,
            "answered twice": self.answered_twice,
            "reply not complete": self.not_complete,
            "reply to nothing": self.stray_replies,
            "seq not dense": self.seq_broken,
        }
        return {name: items for name, items in found.items() if items}


def audit_rows(chats: Sequence[OurChat], rows: Sequence[Any]) -> Audit:
    """Check the stored messages ``rows`` (``session_id, seq, role, client_message_id, id,
    reply_to, status``) against what ``chats`` sent."""
    audit = Audit()
    by_session: dict[str, list[Any]] = {}
    for row in rows:
        by_session.setdefault(str(row.session_id), []).append(row)
    for chat in chats:
        stored = sorted(by_session.get(chat.session_id, []), key=lambda r: r.seq)
        seqs = [r.seq for r in stored]
        if seqs != list(range(1, len(seqs) + 1)):
            audit.seq_broken.append(f"{chat.session_id}: {seqs}")
        users = [r for r in stored if r.role == "user"]
        replies = [r for r in stored if r.role == "assistant"]
        audit.sent += len(chat.client_ids)
        audit.stored += len(users)
        counts = Counter(r.client_message_id for r in users)
        for client_id in chat.client_ids:
            if counts[client_id] == 0:
                found = audit.refused if client_id in chat.refused else audit.lost
                found.append(f"{chat.session_id}/{client_id}")
            elif counts[client_id] > 1:
                audit.duplicated.append(f"{chat.session_id}/{client_id}")
        answers = Counter(r.reply_to for r in replies)
        for user in users:
            if answers[user.id] == 0:
                audit.unanswered.append(str(user.id))
            elif answers[user.id] > 1:
                audit.answered_twice.append(str(user.id))
        asked = {user.id for user in users}
        for reply in replies:
            if reply.reply_to not in asked:
                audit.stray_replies.append(str(reply.id))
            if reply.status != "complete":
                audit.not_complete.append(f"{reply.id}: {reply.status}")
    return audit


async def stored_messages(data_dir: Path, session_ids: list[str]) -> list[Any]:
    """The messages of ``session_ids`` in the running server's embedded database.

    It connects through the server's socket folder rather than attaching to the embedded
    PostgreSQL: an attached process counts as one of its users, and the database would outlive
    the server (and the temporary folder it lives in) until this process exits.
    """
    from sqlalchemy import text  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from server.db.embedded import DATABASE_NAME  # noqa: PLC0415

    socket_dir = data_dir / "postgres"
    engine = create_async_engine(
        f"postgresql+asyncpg://postgres:@/{DATABASE_NAME}?host={socket_dir}"
    )
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT session_id, seq, role, client_message_id, id, reply_to, status "
                    "FROM chat_messages WHERE session_id::text = ANY(:ids)"
                ),
                {"ids": session_ids},
            )
            return list(result)
    finally:
        await engine.dispose()


def logged_errors(log: Path) -> list[str]:
    """The error lines of the server's JSON log (with their exception's last line)."""
    errors = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in {"error", "critical"}:
            cause = str(entry.get("exception") or "").strip().rpartition("\n")[2]
            errors.append(f"{entry.get('event')}: {cause[:160]}" if cause else str(entry["event"]))
    return errors


def report(outcome: Outcome, audit: Audit, log_errors: list[str], sessions: int) -> bool:
    """Print the summary; whether the soak passed."""
    turns = len(outcome.latencies)
    print(f"sessions: {len(outcome.sessions)} of {sessions} joined")
    print(
        f"turns: {turns} answered in {outcome.wall_s:.1f}s "
        f"({turns / outcome.wall_s if outcome.wall_s else 0:.1f}/s)"
    )
    if outcome.latencies:
        ordered = sorted(outcome.latencies)
        p95 = ordered[max(0, int(0.95 * len(ordered)) - 1)]
        print(
            f"first delta: p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
        )
    print(f"client errors: {len(outcome.errors)}")
    for error, count in Counter(outcome.errors).most_common(5):
        print(f"  {count} x {error}")
    print(f"server log errors: {len(log_errors)}")
    for error, count in Counter(log_errors).most_common(5):
        print(f"  {count} x {error}")
    print(f"database: {audit.stored} user messages stored of {audit.sent} sent")
    for name, items in audit.problems.items():
        print(f"  {name}: {len(items)} (e.g. {items[0]})")
    passed = not outcome.errors and not log_errors and not audit.problems
    print("soak passed" if passed else "soak FAILED")
    return passed


async def soak(sessions: int, messages: int) -> bool:
    """Start a server, drive it, audit its database, stop it; whether all went well."""
    raise_fd_limit()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        data_dir = Path(tmp)
        server = start_ours(data_dir, projects=max(1, sessions // SESSIONS_PER_PROJECT))
        try:
            outcome = await drive(server, sessions, messages)
            await asyncio.sleep(1)  # replies stored as they finish; the last one just did
            rows = await stored_messages(data_dir, [chat.session_id for chat in outcome.sessions])
            audit = audit_rows(outcome.sessions, rows)
        finally:
            server.stop()
        assert server.log is not None
        return report(outcome, audit, logged_errors(server.log), sessions)


def main() -> None:
    """``make soak``."""
    parser = argparse.ArgumentParser(description="Soak the chat: sessions x messages, audited.")
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--messages", type=int, default=MESSAGES)
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(soak(args.sessions, args.messages)) else 1)


if __name__ == "__main__":
    main()
