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
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

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
    and wait until every process of the group has ended; kill the group if it does not in time."""
    with suppress(ProcessLookupError):
        if group:
            os.killpg(served.process.pid, signal.SIGTERM)
        else:
            served.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    try:
        code = served.process.wait(timeout=STOP_TIMEOUT_S)
        while _group_alive(served.process.pid):  # a wrapper (make, uv) can end before its child
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(served.process.args, STOP_TIMEOUT_S)
            time.sleep(0.2)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(served.process.pid, signal.SIGKILL)
        served.process.wait()
        raise
    return code


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_SETTINGS = {
    *("HOST", "PORT", "DATA_DIR", "DATABASE_URL", "DATABASE_POOL_SIZE", "REDIS_URL", "SECRET_KEY"),
    *("ASSISTANT_CONFIG", "DEBUG", "ACCESS_TOKEN_TTL", "REFRESH_TOKEN_TTL", "INVITATION_TTL"),
    *("WORKER_THREADS", "MAX_UPLOAD_MB", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"),
    *("BASE", "TOKEN", "PROJECT", "DOC", "EMAIL", "PASSWORD"),  # what the docs' commands set
}
_SETTING_PREFIXES = ("CHAT_", "LOGIN_", "QUEUE_", "EXPORT_", "PARSE_", "ADMIN_", "PYTEST_")
_SESSION = {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKE_TERMOUT", "MAKE_TERMERR"}
"""Set when the tests run under ``make test``; a person's shell has none of them."""


def user_env() -> dict[str, str]:
    """The environment of a person at a shell: this machine's (network, certificates, caches),
    without the project's settings, and without .venv/bin or ~/.local/bin on ``PATH``."""
    hidden = {str(ROOT / ".venv" / "bin"), str(Path.home() / ".local" / "bin")}
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _SETTINGS | _SESSION and not name.startswith(_SETTING_PREFIXES)
    }
    env["PATH"] = os.pathsep.join(
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and entry not in hidden and not entry.endswith("/.venv/bin")
    )
    return env


@contextmanager
def serving(
    command: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    port: int,
    log: Path,
    start_timeout_s: float = START_TIMEOUT_S,
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
        wait_for_health(served, start_timeout_s)
        yield served
    finally:
        stop(served)
