"""The pacing of a reply's delta frames: the first at once, then at most one a frame interval,
text that comes sooner joined into the next, nothing left behind."""

from __future__ import annotations

import asyncio

from server.chat._replies import DELTA_INTERVAL_S, DeltaPacer


async def test_the_first_delta_goes_at_once_and_a_burst_is_joined_into_the_next_frame() -> None:
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    pacer = DeltaPacer(send)
    await pacer.add("a")
    assert sent == ["a"]
    for text in "bcd":
        await pacer.add(text)
    assert sent == ["a"]  # within the interval: waiting for the next frame
    await asyncio.sleep(DELTA_INTERVAL_S * 3)
    assert sent == ["a", "bcd"]
    await pacer.close()
    assert sent == ["a", "bcd"]


async def test_text_that_comes_while_a_frame_is_being_sent_goes_in_the_following_one() -> None:
    sent: list[str] = []
    release = asyncio.Event()

    async def send(text: str) -> None:
        if sent:  # every frame after the first is slow to publish (Redis under load)
            await release.wait()
        sent.append(text)

    pacer = DeltaPacer(send)
    await pacer.add("a")
    await pacer.add("b")  # waits for the timer
    await asyncio.sleep(DELTA_INTERVAL_S * 2)  # the timer is now sending "b", held by send
    await pacer.add("c")  # comes while "b" is being sent
    release.set()
    # No further text and no close: "c" still leaves, one interval later.
    await asyncio.sleep(DELTA_INTERVAL_S * 4)
    assert sent == ["a", "b", "c"]


async def test_close_sends_what_waits() -> None:
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    pacer = DeltaPacer(send)
    await pacer.add("a")
    await pacer.add("b")
    await pacer.close()
    assert sent == ["a", "b"]
