"""The real server, started as ``assistant serve`` on the embedded PostgreSQL, keeps its data
across a restart on the same ``DATA_DIR``."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.conftest import ROOT
from tests.integration.conftest import ASSISTANT, PASSWORD, cli_env

if TYPE_CHECKING:
    from collections.abc import Iterator

START_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _serving(data_dir: Path, log: Path) -> Iterator[httpx.Client]:
    """Run ``assistant serve`` until it answers /health; stop it with SIGTERM on exit."""
    port = _free_port()
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*ASSISTANT, "serve"],
            cwd=ROOT,
            env=cli_env(data_dir, PORT=str(port), HOST="127.0.0.1"),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None, f"serve exited early:\n{log.read_text()}"
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve did not start:\n{log.read_text()}"
            time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert code in {0, -signal.SIGTERM}, f"serve exited with {code}:\n{log.read_text()}"


def test_data_survives_a_restart_on_the_same_data_dir() -> None:
    # Under /tmp itself: pgserver, run as root, hands the data directory to its own user.
    with tempfile.TemporaryDirectory(prefix="assistant-restart-", dir="/tmp") as tmp:
        data_dir, first_log, log = Path(tmp) / "data", Path(tmp) / "1.log", Path(tmp) / "2.log"
        login = {"email": "keeper@example.org", "password": PASSWORD}
        with _serving(data_dir, first_log) as api:
            assert api.post("/api/v1/auth/register", json=login).status_code == 201
            tokens = api.post("/api/v1/auth/login", json=login).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            created = api.post("/api/v1/projects", json={"name": "Kept"}, headers=headers)
            assert created.status_code == 201, created.text
            status = api.get("/status").json()
            assert status["checks"]["database"]["status"] == "ok", status

        assert (data_dir / "postgres").is_dir()
        with _serving(data_dir, log) as api:
            # The signing key was kept in DATA_DIR too: the old access token still works.
            assert api.get("/api/v1/auth/me", headers=headers).status_code == 200
            fresh = api.post("/api/v1/auth/login", json=login).json()
            headers = {"Authorization": f"Bearer {fresh['access_token']}"}
            projects = api.get("/api/v1/projects", headers=headers).json()
            assert [p["name"] for p in projects] == ["Kept"]
            refreshed = api.post(
                "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            assert refreshed.status_code == 200, refreshed.text

        # Once the app is built, logs are JSON lines (stderr is not a terminal here).
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        first = next(i for i, line in enumerate(lines) if _is_json_event(line))
        assert [line for line in lines[first:] if not _is_json_event(line)] == []
        assert any("Uvicorn running" in line for line in lines[first:])


def _is_json_event(line: str) -> bool:
    try:
        return "event" in json.loads(line)
    except ValueError:
        return False
