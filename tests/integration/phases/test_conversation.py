"""The phase conversation over a real WebSocket with the offline (local) provider: all 14 phases
of the business plan end to end, then commands typed and sent as events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.phases.flow import APPROVAL_QUESTION
from tests.integration.chat.conftest import open_client

from .conftest import reply_of

if TYPE_CHECKING:
    from tests.integration.chat.conftest import Client

    from .conftest import Walker


async def _say(ws: Client, text: str, ref: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    await ws.send("chat:send_message", {"content": text, "client_message_id": ref})
    frames = await ws.until_reply()
    return reply_of(frames), frames


async def _event(ws: Client, event: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    await ws.send(event, data)
    return await ws.until(
        lambda f: (
            f["event"] == "chat:error"
            or (
                f["event"] == "chat:message_received"
                and f["data"]["message"]["role"] == "assistant"
            )
        )
    )


def _updated(frames: list[dict[str, Any]], number: int) -> list[dict[str, Any]]:
    return [
        f["data"]["phase"]
        for f in frames
        if f["event"] == "phase:updated" and f["data"]["phase"]["number"] == number
    ]


async def test_walk_all_fourteen_phases(walker: Walker) -> None:
    project = await walker.project()
    template = await walker.phases(project)
    sent: dict[int, list[str]] = {}
    async with open_client(walker.served.ws, walker.who.token) as ws:
        await ws.join(project)
        reply, _ = await _say(ws, "Hello, let us write the plan.", "hello")
        assert template[0]["questions"][0] in reply["content"]
        for phase in template:
            number, questions = phase["number"], phase["questions"]
            sent[number] = []
            for index in range(len(questions)):
                answer = f"For {phase['title'].lower()}, point {index + 1}: solar pumps for farms."
                sent[number].append(answer)
                reply, frames = await _say(ws, answer, f"p{number}q{index}")
                assert reply["phase"] == number
                if index + 1 < len(questions):
                    assert questions[index + 1] in reply["content"]
                    continue
                # The last answer drafts the phase: streamed, stored, awaiting approval.
                assert any(f["event"] == "chat:message_delta" for f in frames)
                assert f"## {phase['title']}\n" in reply["content"]
                assert reply["provider"] == "local"
                drafted = _updated(frames, number)[-1]
                assert drafted["current_version"] == 1
                assert drafted["awaiting_approval"] is True
                # The reply ends by asking for approval; the stored version is the draft alone.
                assert reply["content"].endswith(APPROVAL_QUESTION)
                assert APPROVAL_QUESTION not in drafted["content"]
            if number % 2:
                reply, frames = await _say(ws, "/approve", f"approve{number}")
            else:
                frames = await _event(ws, "phase:approve", {})
                reply = reply_of(frames)
            assert f"Phase {number} ({phase['title']}) approved" in reply["content"]
            assert _updated(frames, number)[-1]["status"] == "completed"
            if number < len(template):
                assert template[number]["questions"][0] in reply["content"]
        assert "Every phase is complete" in reply["content"]

    phases = await walker.phases(project)
    assert [p["status"] for p in phases] == ["completed"] * 14
    for phase in phases:
        assert phase["current_version"] == 1
        assert [a["answer"] for a in phase["answers"]] == sent[phase["number"]]
        assert all(a["message_id"] for a in phase["answers"])
        r = await walker.http.get(f"/api/v1/projects/{project}/phases/{phase['number']}/versions")
        (version,) = r.json()
        assert version["author_kind"] == "assistant"
        assert version["provider"] == "local"
        assert version["model"]
        assert [a["answer"] for a in version["answers"]] == sent[phase["number"]]
        assert version["content"] == phase["content"]
        assert APPROVAL_QUESTION not in version["content"]
        depends = {s["phase_number"] for s in version["sources"] if s["kind"] == "phase"}
        assert depends == set(phase["depends_on"])


async def test_commands_typed_and_sent_as_events(walker: Walker) -> None:
    project = await walker.project("diamond")
    base = f"/api/v1/projects/{project}/phases"
    async with open_client(walker.served.ws, walker.who.token) as ws:
        await ws.join(project)
        reply, _ = await _say(ws, "/status", "status")
        assert reply["content"].startswith("**Diamond: 0 of 6 phases complete.**")
        assert "- Not started: 1 to 6 (you are on phase 1)" in reply["content"]

        reply, _ = await _say(ws, "/goto 4", "goto4")
        assert "Left (phase 2), Right (phase 3)" in reply["content"]
        assert "Join?" in reply["content"]
        reply, _ = await _say(ws, "/goto 99", "goto99")
        assert "There is no phase 99" in reply["content"]

        # A free question goes to the conversation, not into the phase's answers.
        reply, _ = await _say(ws, "Why is the sky blue?", "free")
        assert "open conversation" in reply["content"]
        assert (await walker.http.get(f"{base}/4")).json()["answers"] == []

        # Jumping ahead and drafting with empty dependencies works, and names the gaps.
        reply, frames = await _say(ws, "/draft", "draft")
        assert "Drafted without Left (phase 2), Right (phase 3)" in reply["content"]
        assert _updated(frames, 4)[-1]["current_version"] == 1

        # A message while a draft awaits approval asks for a revision: a new version.
        reply, frames = await _say(ws, "Make it shorter please.", "revise")
        assert _updated(frames, 4)[-1]["current_version"] == 2
        versions = (await walker.http.get(f"{base}/4/versions")).json()
        assert versions[1]["note"] == "revised as asked: Make it shorter please."

        reply, _ = await _say(ws, "/answer 4.1 Both sides meet in the middle.", "answer")
        assert "Saved your answer to question 1 of phase 4" in reply["content"]
        frames = await _event(ws, "phase:regenerate", {"number": 4})
        assert "Both sides meet in the middle." in reply_of(frames)["content"]
        assert _updated(frames, 4)[-1]["current_version"] == 3

        frames = await _event(ws, "phase:approve", {})
        reply = reply_of(frames)
        assert "Phase 4 (Join) approved at version 3" in reply["content"]
        assert "Tail?" in reply["content"]

        frames = await _event(ws, "phase:goto", {"number": 42})
        assert frames[-1]["event"] == "chat:error"
        assert frames[-1]["data"]["code"] == "not_found"
        frames = await _event(ws, "phase:goto", {"number": 2})
        assert "Left?" in reply_of(frames)["content"]
        frames = await _event(ws, "phase:approve", {})
        assert frames[-1]["event"] == "chat:error"
        assert frames[-1]["data"]["code"] == "conflict"

        # A new version of phase 2 makes the completed phase 4 stale; participants are told.
        reply, frames = await _say(ws, "The left side is the farmers.", "left")
        stale = [f["data"]["numbers"] for f in frames if f["event"] == "phase:stale"]
        assert stale == [[4]]
        assert (await walker.http.get(f"{base}/4")).json()["status"] == "stale"

        reply, _ = await _say(ws, "/bogus", "bogus")
        assert reply["content"].startswith("Commands: /goto N")


async def test_one_rule_behind_every_front_door(walker: Walker) -> None:
    """The rule "approving needs a draft" reads the same from REST, a frame and a command."""
    project = await walker.project("diamond")
    r = await walker.http.post(f"/api/v1/projects/{project}/phases/1/approve")
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "conflict"
    rule = r.json()["message"]
    assert rule.startswith("phase 1 has no draft to approve yet")
    async with open_client(walker.served.ws, walker.who.token) as ws:
        await ws.join(project)
        frames = await _event(ws, "phase:approve", {})
        assert frames[-1]["event"] == "chat:error"
        assert frames[-1]["data"]["code"] == "conflict"
        assert frames[-1]["data"]["message"] == rule
        reply, _ = await _say(ws, "/approve", "approve")
        assert reply["content"] == rule[:1].upper() + rule[1:] + "."
    phases = await walker.phases(project)
    # Refused everywhere, so nothing changed.
    assert (phases[0]["status"], phases[0]["current_version"]) == ("not_started", None)


async def test_stale_phases_are_regenerated_as_queued_work(walker: Walker) -> None:
    """``regenerate-stale`` answers 202 at once; each phase arrives as ``phase:updated``."""
    project = await walker.project("diamond")
    base = f"/api/v1/projects/{project}/phases"
    for number in (1, 2, 3):
        r = await walker.http.post(
            f"{base}/{number}/edit", json={"content": f"Part {number}.", "based_on_version": None}
        )
        assert r.status_code == 200, r.text
        assert (await walker.http.post(f"{base}/{number}/approve")).status_code == 200
    r = await walker.http.post(f"{base}/1/edit", json={"content": "New.", "based_on_version": 1})
    assert r.status_code == 200, r.text
    async with open_client(walker.served.ws, walker.who.token) as ws:
        await ws.join(project)
        r = await walker.http.post(f"{base}/regenerate-stale")
        assert r.status_code == 202, r.text
        assert r.json()["stale"] == [2, 3]
        seen: dict[int, dict[str, Any]] = {}

        def both_drafted(frame: dict[str, Any]) -> bool:
            if frame["event"] == "phase:updated":
                seen[frame["data"]["phase"]["number"]] = frame["data"]["phase"]
            return all(seen.get(n, {}).get("current_version") == 2 for n in (2, 3))

        await ws.until(both_drafted)
    assert all(seen[n]["awaiting_approval"] and seen[n]["status"] == "in_progress" for n in (2, 3))
    statuses = [p["status"] for p in await walker.phases(project)]
    assert statuses[:3] == ["completed", "in_progress", "in_progress"]


async def test_the_title_is_asked_at_the_start_and_set_with_a_command(walker: Walker) -> None:
    project = await walker.project()
    async with open_client(walker.served.ws, walker.who.token) as ws:
        await ws.join(project)
        reply, _ = await _say(ws, "Hi there", "hi")
        assert "Question 1 of 4:" in reply["content"]
        assert "this business plan is titled “Walk”" in reply["content"]
        reply, _ = await _say(ws, "/title  Sunny Pumps Ltd ", "title")
        assert reply["content"] == "Done: the document is now titled “Sunny Pumps Ltd”."
        reply, _ = await _say(ws, "/title ", "empty")
        assert reply["content"] == "A title has 1 to 200 characters."
        # Asked once: the next turn is about the question again.
        reply, _ = await _say(ws, "We rent solar pumps to farms.", "a1")
        assert "titled" not in reply["content"]
    r = await walker.http.get(f"/api/v1/projects/{project}")
    assert r.json()["name"] == "Sunny Pumps Ltd"


async def test_a_question_about_what_was_said_quotes_the_recorded_answer(walker: Walker) -> None:
    project = await walker.project()
    async with open_client(walker.served.ws, walker.who.token) as ws:
        await ws.join(project)
        await _say(ws, "Hello, let us write the plan.", "hello")
        await _say(ws, "We rent solar pumps to farms.", "a1")
        await _say(ws, "Our customers are cooperatives of smallholder farmers.", "a2")
        # One content word after "what did I say about": the answer that has it is quoted.
        reply, _ = await _say(ws, "What did I say about customers?", "free")
        assert "Our customers are cooperatives of smallholder farmers." in reply["content"]
        cited = [c for c in reply["citations"] if "your answer in phase 1" in c["source"]]
        assert cited, reply["citations"]
        assert "question 3 of" in reply["content"]  # the pending question, asked again
    phase = (await walker.phases(project))[0]
    assert len(phase["answers"]) == 2  # the free question was not taken as an answer
