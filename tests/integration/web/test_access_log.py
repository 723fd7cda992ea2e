"""The real ``assistant serve`` logs every WebSocket connection with its URL; no token, ticket
or password ever reaches the log."""

from __future__ import annotations

import asyncio
import subprocess
import time
from typing import TYPE_CHECKING

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import ROOT
from tests.integration.chat.conftest import TIMEOUT, free_port
from tests.integration.conftest import ASSISTANT, PASSWORD, cli_env

if TYPE_CHECKING:
    from pathlib import Path

START_TIMEOUT_S = 120


async def _open_and_close(url: str) -> None:
    try:
        async with connect(url, open_timeout=TIMEOUT) as conn:
            await conn.send('{"event": "chat:leave_session", "data": {}}')
            await asyncio.wait_for(conn.recv(), 2)
    except (ConnectionClosed, TimeoutError):
        pass


async def test_the_log_holds_no_token_or_ticket(clean_db: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*ASSISTANT, "serve"],
            cwd=ROOT,
            env=cli_env(tmp_path, PORT=str(port), HOST="127.0.0.1", DATABASE_URL=clean_db),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.3)
            email = "logged@example.org"
            await http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
            tokens = (
                await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            ).json()
            bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
            ticket = (await http.post("/api/v1/auth/ws-ticket", headers=bearer)).json()["ticket"]
            ws = f"ws://127.0.0.1:{port}/ws/chat"
            await _open_and_close(f"{ws}?ticket={ticket}")
            await _open_and_close(f"{ws}?ticket={ticket}")  # reused: refused, logged all the same
            await _open_and_close(f"{ws}?token={tokens['access_token']}")  # an old client's way
            await http.get(f"/api/v1/auth/me?access_token={tokens['access_token']}", headers=bearer)
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = log.read_text()
    assert "ticket=[redacted]" in text  # the connection is logged, its ticket is not
    for secret in (ticket, tokens["access_token"], tokens["refresh_token"], PASSWORD):
        assert secret not in text
