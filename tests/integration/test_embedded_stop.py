"""The embedded PostgreSQL stops with ``assistant serve`` (SIGTERM or Ctrl-C), and a start after
the server was killed with SIGKILL takes over the orphan postmaster and stops it in turn."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from tests.conftest import ROOT
from tests.integration.conftest import ASSISTANT, cli_env
from tests.integration.test_restart import START_TIMEOUT_S, _free_port


def _postmasters(data_dir: Path) -> list[psutil.Process]:
    """Every ``postgres -D <DATA_DIR>/postgres`` process on the machine."""
    pgdata = str(data_dir / "postgres")
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if cmdline and cmdline[0].endswith("postgres") and pgdata in cmdline:
            found.append(process)
    return found


def _start(data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    """``assistant serve`` on ``data_dir``, once it answers /health."""
    port = _free_port()
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*ASSISTANT, "serve"],
            cwd=ROOT,
            env=cli_env(data_dir, PORT=str(port), HOST="127.0.0.1"),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        assert process.poll() is None, f"serve exited early:\n{log.read_text()}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"serve did not start:\n{log.read_text()}"
        time.sleep(0.3)


def _stop(process: subprocess.Popen[bytes], signum: int) -> int:
    process.send_signal(signum)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def test_the_embedded_postgres_stops_with_the_server_even_after_a_kill() -> None:
    # Under /tmp itself: pgserver, run as root, hands the data directory to its own user.
    with tempfile.TemporaryDirectory(prefix="assistant-stop-", dir="/tmp") as tmp:
        data_dir, log = Path(tmp) / "data", Path(tmp) / "serve.log"
        try:
            server = _start(data_dir, log)
            assert len(_postmasters(data_dir)) == 1
            assert _stop(server, signal.SIGTERM) == -signal.SIGTERM, log.read_text()
            assert _postmasters(data_dir) == [], log.read_text()

            server = _start(data_dir, log)
            [orphan] = _postmasters(data_dir)
            server.kill()
            server.wait(timeout=30)
            assert _postmasters(data_dir) == [orphan]  # the kill left it behind...

            server = _start(data_dir, log)  # ...and the next start takes it over
            assert [p.pid for p in _postmasters(data_dir)] == [orphan.pid]
            _stop(server, signal.SIGINT)  # Ctrl-C
            assert _postmasters(data_dir) == [], log.read_text()
        finally:
            for process in _postmasters(data_dir):
                process.kill()
