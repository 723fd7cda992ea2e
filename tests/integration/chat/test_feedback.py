"""Feedback on answers over real HTTP and WebSocket: one changeable rating per user and reply,
counts broadcast to the session, counts and one's own rating in message payloads, and the
admins' aggregates and JSONL export of rated exchanges."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import httpx

from tests.integration.chat.conftest import open_client

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from tests.integration.chat.conftest import Client, Served
    from tests.integration.conftest import Account

NOTES = b"# Ledgerly\n\nLedgerly sells bookkeeping software to bakeries in Lyon.\n"


async def _indexed(http: httpx.AsyncClient, who: Account, project_id: UUID) -> None:
    r = await http.post(
        "/api/v1/documents",
        headers=who.headers,
        data={"project_id": str(project_id)},
        files={"file": ("notes.md", NOTES, "text/markdown")},
    )
    assert r.status_code == 202, r.text
    for _ in range(600):
        status = (await http.get(f"/api/v1/documents/{r.json()['id']}", headers=who.headers)).json()
        if status["status"] == "completed":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not indexed: {status}")


async def _updated(client: Client, message_id: str) -> dict[str, Any]:
    frame = await client.until_event("chat:feedback_updated")
    assert frame["data"]["message_id"] == message_id
    return frame["data"]


async def test_rating_answers_over_http_reaches_every_participant(
    serve: Callable[..., Served],
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    served = serve()
    owner, viewer, editor = [await make_account() for _ in range(3)]
    stranger = await make_account()
    admin = await make_account(role="admin")
    project_id = await make_project({owner.id: "owner", viewer.id: "viewer", editor.id: "editor"})

    async with httpx.AsyncClient(base_url=served.http, timeout=30) as http:
        await _indexed(http, owner, project_id)
        async with open_client(served.ws, owner.token) as asking:
            session_id = (await asking.join(project_id))["data"]["session"]["id"]
            await asking.send(
                "chat:send_message", {"content": "Who buys Ledgerly?", "client_message_id": "q1"}
            )
            frames = await asking.until_reply()
            reply = frames[-1]["data"]["message"]
            question = next(
                f["data"]["message"]
                for f in frames
                if f["event"] == "chat:message_received" and f["data"]["message"]["role"] == "user"
            )
            assert reply["feedback"] == {"up": 0, "down": 0, "mine": None}
            assert question["feedback"] is None
            assert [p["name"] for p in reply["prompts"]] == ["answering"]

            async with open_client(served.ws, viewer.token) as reading:
                joined = await reading.join(project_id, session_id)
                replayed = joined["data"]["messages"][-1]
                assert replayed["id"] == reply["id"]
                assert replayed["feedback"] == {"up": 0, "down": 0, "mine": None}

                url = f"/api/v1/messages/{reply['id']}/feedback"
                down = await http.put(
                    url, json={"rating": "down", "comment": "too vague"}, headers=viewer.headers
                )
                assert down.status_code == 200, down.text
                assert (down.json()["up"], down.json()["down"]) == (0, 1)
                for client in (asking, reading):
                    assert await _updated(client, reply["id"]) == {
                        "message_id": reply["id"], "up": 0, "down": 1
                    }  # fmt: skip

                # One rating per user: rating again changes it.
                up = await http.put(url, json={"rating": "up"}, headers=viewer.headers)
                assert (up.json()["up"], up.json()["down"]) == (1, 0)
                assert (await _updated(reading, reply["id"]))["up"] == 1
                mine = await http.put(url, json={"rating": "up"}, headers=owner.headers)
                assert (mine.json()["up"], mine.json()["down"]) == (2, 0)
                assert (await _updated(reading, reply["id"]))["up"] == 2

        # Refusals: a user's own message, a bad rating, a stranger, nobody.
        own = await http.put(
            f"/api/v1/messages/{question['id']}/feedback", json={"rating": "up"},
            headers=owner.headers,
        )  # fmt: skip
        assert (own.status_code, own.json()["code"]) == (422, "not_an_answer")
        bad = await http.put(url, json={"rating": "meh"}, headers=owner.headers)
        assert bad.status_code == 422
        assert (
            await http.put(url, json={"rating": "up"}, headers=stranger.headers)
        ).status_code == 404
        assert (await http.put(url, json={"rating": "up"})).status_code == 401

        listing = f"/api/v1/chat/sessions/{session_id}/messages"
        seen = (await http.get(listing, headers=viewer.headers)).json()[-1]["feedback"]
        assert seen == {"up": 2, "down": 0, "mine": "up"}
        seen = (await http.get(listing, headers=editor.headers)).json()[-1]["feedback"]
        assert seen == {"up": 2, "down": 0, "mine": None}

        # Withdrawing one's rating.
        assert (await http.delete(url, headers=owner.headers)).status_code == 204
        seen = (await http.get(listing, headers=owner.headers)).json()[-1]["feedback"]
        assert seen == {"up": 1, "down": 0, "mine": None}

        # Admins: aggregates and the export of rated exchanges.
        assert (await http.get("/api/v1/feedback", headers=owner.headers)).status_code == 403
        groups = (
            await http.get(
                "/api/v1/feedback",
                params=[("group_by", "provider"), ("group_by", "prompt")],
                headers=admin.headers,
            )
        ).json()
        assert len(groups) == 1
        [group] = groups
        assert group["provider"] == "local"
        assert group["prompt"].startswith("answering@")
        assert (group["up"], group["down"], group["total"], group["up_share"]) == (1, 0, 1, 1.0)
        assert group["model"] is None  # not grouped by
        everything = (await http.get("/api/v1/feedback", headers=admin.headers)).json()
        assert everything[0]["profile"] == "chat"
        assert everything[0]["day"] is not None

        export = await http.get("/api/v1/feedback/export", headers=admin.headers)
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("application/x-ndjson")
        [line] = [json.loads(x) for x in export.text.splitlines()]
        assert line["question"] == "Who buys Ledgerly?"
        assert line["answer"] == reply["content"]
        assert line["rating"] == "up"
        assert any("bakeries in Lyon" in p["text"] for p in line["context"])
        assert line["provider"] == "local"
        assert line["prompts"] == reply["prompts"]


async def test_rating_over_the_websocket_and_its_refusals(
    serve: Callable[..., Served],
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
) -> None:
    served = serve()
    owner, viewer = await make_account(), await make_account()
    project_id = await make_project({owner.id: "owner", viewer.id: "viewer"})
    async with open_client(served.ws, owner.token) as asking:
        session_id = (await asking.join(project_id))["data"]["session"]["id"]
        await asking.send("chat:send_message", {"content": "Hello?", "client_message_id": "h1"})
        frames = await asking.until_reply()
        reply = frames[-1]["data"]["message"]
        question = frames[0]["data"]["message"]

        async with open_client(served.ws, viewer.token) as reading:
            await reading.join(project_id, session_id)
            await reading.send(
                "chat:feedback",
                {"message_id": reply["id"], "rating": "down", "comment": "not helpful"},
                ref="r1",
            )
            expected = {"message_id": reply["id"], "up": 0, "down": 1}
            assert await _updated(reading, reply["id"]) == expected
            assert await _updated(asking, reply["id"]) == expected
            await reading.send("chat:feedback", {"message_id": reply["id"], "rating": "up"})
            assert (await _updated(asking, reply["id"]))["up"] == 1

            for data, code in (
                ({"message_id": reply["id"], "rating": "meh"}, "bad_request"),
                ({"message_id": question["id"], "rating": "up"}, "not_an_answer"),
                ({"message_id": session_id, "rating": "up"}, "not_found"),
            ):
                await reading.send("chat:feedback", data, ref="bad")
                error = await reading.until_event("chat:error")
                assert (error["data"]["code"], error["ref"]) == (code, "bad"), error

        # A reply of another session cannot be rated from this one.
        async with open_client(served.ws, owner.token) as elsewhere:
            await elsewhere.join(project_id)
            await elsewhere.send("chat:feedback", {"message_id": reply["id"], "rating": "up"})
            error = await elsewhere.until_event("chat:error")
            assert error["data"]["code"] == "not_found"

    async with httpx.AsyncClient(base_url=served.http, timeout=30) as http:
        listing = f"/api/v1/chat/sessions/{session_id}/messages"
        seen = (await http.get(listing, headers=viewer.headers)).json()[-1]["feedback"]
        assert seen == {"up": 1, "down": 0, "mine": "up"}
