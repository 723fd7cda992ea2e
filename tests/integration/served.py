"""A real server process for tests that use the app as a person does: a free port, its own
``DATA_DIR``, ``/health`` awaited, SIGTERM at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

START_TIMEOUT_S = 180
STOP_TIMEOUT_S = 60


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    """A running server: where it answers and where it logs."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"


def wait_for_health(served: Served, timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll ``/health`` until it answers 200; fail with the log if the process dies or stalls."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert served.process.poll() is None, f"the server exited early:\n{served.log.read_text()}"
        try:
            if httpx.get(f"{served.base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the server did not start:\n{served.log.read_text()}"
        time.sleep(0.3)


def stop(served: Served, *, group: bool = True) -> int:
    """SIGTERM the server's process group (``group=False``: the process alone, as ``kill`` does)
    and wait; kill the group if it does not stop in time."""
    with suppress(ProcessLookupError):
        if group:
            os.killpg(served.process.pid, signal.SIGTERM)
        else:
            served.process.send_signal(signal.SIGTERM)
    try:
        return served.process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(served.process.pid, signal.SIGKILL)
        served.process.wait()
        raise


@contextmanager
def serving(
    command: Sequence[str], *, cwd: Path, env: dict[str, str], port: int, log: Path
) -> Iterator[Served]:
    """Run ``command`` (which serves on ``port``) in a process group of its own until the block
    ends; the group is what gets stopped, so ``make``/``uv`` wrappers go with it."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(process, port, log)
    try:
        wait_for_health(served)
        yield served
    finally:
        stop(served)
