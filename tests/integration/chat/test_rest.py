"""The REST alternative: sessions, messages after a seq, and a message whose reply streams as
server-sent events, sharing storage, idempotency and fan-out with the WebSocket."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from .conftest import TIMEOUT, open_client

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from tests.integration.conftest import Account

    Maker = Callable[..., Awaitable[Account]]
    ProjectMaker = Callable[..., Awaitable[UUID]]


async def _sse(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    async with http.stream("POST", url, json=body, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event is not None:
                events.append((event, json.loads(line.split(":", 1)[1])))
    return events


async def test_rest_sessions_messages_and_sse(
    serve: Callable[..., Any], make_account: Maker, make_project: ProjectMaker
) -> None:
    served = serve()
    alice, bob, mallory = await make_account(), await make_account(), await make_account()
    project = await make_project({alice.id: "owner", bob.id: "viewer"})
    async with httpx.AsyncClient(base_url=served.http, timeout=TIMEOUT) as http:
        created = await http.post(
            f"/api/v1/projects/{project}/chat/sessions",
            json={"title": "Plan"},
            headers=alice.headers,
        )
        assert created.status_code == 201
        session = created.json()
        assert (session["title"], session["last_seq"]) == ("Plan", 0)
        url = f"/api/v1/chat/sessions/{session['id']}/messages"

        async with open_client(served.ws, bob.token) as watcher:
            await watcher.join(project, session["id"])
            events = await _sse(
                http, url, {"content": "Hello over HTTP", "client_message_id": "h1"}, alice.headers
            )
            names = [e for e, _ in events]
            assert names[0] == "chat:message_received"
            assert "chat:message_delta" in names
            assert names[-1] == "chat:message_received"
            user, reply = events[0][1]["message"], events[-1][1]["message"]
            assert (user["seq"], reply["seq"], reply["reply_to"]) == (1, 2, user["id"])
            watched = await watcher.until_reply()
            assert watched[-1]["data"]["message"] == reply

        again = await _sse(
            http, url, {"content": "Hello over HTTP", "client_message_id": "h1"}, alice.headers
        )
        assert [d["message"]["id"] for _, d in again] == [user["id"], reply["id"]]

        listed = await http.get(url, params={"after_seq": 1}, headers=bob.headers)
        assert [m["id"] for m in listed.json()] == [reply["id"]]
        sessions = await http.get(f"/api/v1/projects/{project}/chat/sessions", headers=bob.headers)
        assert [s["id"] for s in sessions.json()] == [session["id"]]
        assert sessions.json()[0]["last_seq"] == 2
        one = await http.get(f"/api/v1/chat/sessions/{session['id']}", headers=bob.headers)
        assert one.json()["id"] == session["id"]

        hidden = await http.get(url, headers=mallory.headers)
        assert hidden.status_code == 404
        too_big = await http.post(
            url, json={"content": "x" * 40000, "client_message_id": "big"}, headers=alice.headers
        )
        assert (too_big.status_code, too_big.json()["code"]) == (413, "too_large")
        blank = await http.post(
            url, json={"content": " ", "client_message_id": "b"}, headers=alice.headers
        )
        assert (blank.status_code, blank.json()["code"]) == (400, "bad_request")
        assert len((await http.get(url, headers=alice.headers)).json()) == 2
