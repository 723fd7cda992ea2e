"""The servers of the chat benchmarks, each its own process on this machine.

- ours: ``assistant serve`` (see :mod:`bench._chat_server`) on a fresh ``DATA_DIR``, so on its
  own embedded PostgreSQL, without Redis, as ``make run`` starts it; a user and a project made
  through the REST API as a client would;
- Chainlit: ``chainlit run bench/chainlit_app.py --headless`` from the benchmark's environment
  (``BENCH_CHAT_ENV``, made by ``make bench-chat``);
- the bare Litestar handler (``python -m bench._servers echo PORT``): uvicorn as ``make run``
  starts ours, one ``@websocket`` route answering each frame with ``TOKENS`` frames.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
from litestar import Litestar, WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from bench._zero import tokens
from server.cli import WEBSOCKET_OPTIONS

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 180
PASSWORD = "bench-Long-enough-passphrase-42"  # noqa: S105 - a throwaway account of the bench


@websocket("/ws/echo")
async def echo(socket: WebSocket[Any, Any, Any]) -> None:
    """Answer every text frame with the zero-latency reply, one frame a token."""
    await socket.accept()
    try:
        while True:
            await socket.receive_text()
            async for token in tokens():
                await socket.send_text(token)
    except WebSocketDisconnect:
        return


def raise_fd_limit() -> None:
    """Soft limit on open files up to the hard one (inherited by the servers started here)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    """Resident memory of process ``pid``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()  # the fields after the command name


def cpu_s(root_pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by ``root_pids`` and all their descendants,
    those that have exited included (their time is in their parent's ``cutime``/``cstime``
    once reaped: a database backend that ended counts)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])  # ppid
        # utime, stime, and cutime, cstime of the children it reaped
        times[pid] = sum(int(value) for value in fields[11:15]) / _TICKS
    total = 0.0
    for pid, spent in times.items():
        ancestor: int | None = pid
        while ancestor is not None and ancestor > 1:
            if ancestor in root_pids:
                total += spent
                break
            ancestor = parents.get(ancestor)
    return total


def bench_env() -> Path:
    """The benchmark's own environment, where Chainlit is installed."""
    env = os.environ.get("BENCH_CHAT_ENV")
    if not env or not (Path(env) / "bin" / "chainlit").exists():
        raise SystemExit(
            "BENCH_CHAT_ENV must name the benchmark's environment with Chainlit in it: "
            "run `make bench-chat`, which makes it"
        )
    return Path(env)


@dataclass
class Server:
    """A server process and where to reach it."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path | None = None
    """Where its output goes."""
    extra: dict[str, str] = field(default_factory=dict)
    projects: list[str] = field(default_factory=list)
    """Our server's projects, one per concurrent session of the benchmark."""

    @contextlib.contextmanager
    def stopped_on_error(self) -> Iterator[None]:
        """Stop the server if the block fails (with its log's tail in the error)."""
        try:
            yield
        except BaseException as error:
            self.stop()
            if self.log is not None and self.log.exists():
                tail = self.log.read_text(errors="replace")[-3000:]
                error.add_note(f"{self.name} server log ({self.log}), last lines:\n{tail}")
            raise

    @property
    def pid(self) -> int:
        """The server's process id (whose memory is measured)."""
        return self.process.pid

    def database_pid(self) -> int | None:
        """The embedded PostgreSQL's postmaster, for our server (not its child: pgserver's)."""
        lock = self.extra.get("pgdata")
        if lock is None:
            return None
        try:
            return int((Path(lock) / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def wait_ready(self, path: str) -> None:
        """Return once ``path`` answers over HTTP; fail if the process died."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.name} server exited ({self.process.returncode})")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=2)
            except httpx.TransportError:
                time.sleep(0.3)
            else:
                return
        raise RuntimeError(f"the {self.name} server did not start in {START_TIMEOUT_S}s")

    def stop(self) -> None:
        """SIGTERM, as an operator stops it; SIGKILL if it does not stop in 30 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _spawn(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, **kwargs)  # noqa: S603 - our own commands, fixed arguments


def our_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of our server: a fresh ``DATA_DIR``, no Redis, limits out of the way."""
    config = data_dir / "config.json"
    data_dir.mkdir(parents=True, exist_ok=True)
    # The project's config.json (workflows, embeddings, prices) with one provider: ``local``.
    shipped = json.loads((ROOT / "config.json").read_text())
    shipped.update(
        providers={"local": {"type": "local"}},
        profiles={"bench": {"chain": [{"provider": "local"}]}},
        active_profile="bench",
    )
    config.write_text(json.dumps(shipped))
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "ASSISTANT_CONFIG": str(config),
        "ACCESS_TOKEN_TTL": "7200",
        # The benchmark is one user with hundreds of sessions at full speed.
        "CHAT_MAX_CONNECTIONS": "100000",
        "CHAT_MESSAGES_PER_MINUTE": "10000000",
        "CHAT_IDLE_TIMEOUT": "3600",
        **overrides,
    }
    for name in ("DATABASE_URL", "REDIS_URL", "PORT", "HOST"):
        if name not in overrides:
            env.pop(name, None)
    return env


def start_ours(data_dir: Path, projects: int = 1, **env: str) -> Server:
    """Our server on ``data_dir`` (its own embedded PostgreSQL), with a user and ``projects``
    projects (:attr:`Server.projects`)."""
    port = free_port()
    environ = our_env(data_dir, **env)
    with (data_dir / "server.log").open("ab") as log:
        process = _spawn(
            [sys.executable, "-m", "bench._chat_server", str(port)],
            env=environ,
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
    server = Server("ours", process, port, log=data_dir / "server.log")
    with server.stopped_on_error():
        server.wait_ready("/health")
        server.extra.update(token=_account(port, server.projects, projects))
        server.extra.update(pgdata=str(data_dir / "postgres"))
    return server


def _account(port: int, made: list[str], projects: int) -> str:
    """Register a user, log in, create ``projects`` projects (their ids go in ``made``); the
    user's access token."""
    base = f"http://127.0.0.1:{port}/api/v1"
    email = "bench@example.org"
    with httpx.Client(base_url=base, timeout=30) as client:
        client.post("/auth/register", json={"email": email, "password": PASSWORD})
        login = client.post("/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        token: str = login.json()["access_token"]
        for n in range(projects):
            project = client.post(
                "/projects",
                json={"name": f"Bench bakery {n}"},
                headers={"Authorization": f"Bearer {token}"},
            )
            project.raise_for_status()
            made.append(project.json()["id"])
    return token


def start_chainlit(work_dir: Path, *, deflate: bool = True) -> Server:
    """The minimal Chainlit app, from the benchmark's environment; ``deflate=False`` turns off
    permessage-deflate, as ``assistant serve`` does (Chainlit's own setting)."""
    env_dir = bench_env()
    port = free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if not deflate:
        env["UVICORN_WS_PER_MESSAGE_DEFLATE"] = "false"
    log = work_dir / "server.log"
    with log.open("ab") as out:
        process = _spawn(
            [
                str(env_dir / "bin" / "chainlit"),
                "run",
                str(ROOT / "bench" / "chainlit_app.py"),
                "--headless",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=work_dir,
            stdout=out,
            stderr=out,
        )
    server = Server("chainlit", process, port, log=log)
    with server.stopped_on_error():
        server.wait_ready("/ws/socket.io/?EIO=4&transport=polling")
    return server


def start_echo() -> Server:
    """The bare Litestar handler."""
    port = free_port()
    process = _spawn([sys.executable, "-m", "bench._servers", "echo", str(port)], cwd=ROOT)
    server = Server("bare", process, port)
    with server.stopped_on_error():
        server.wait_ready("/ws/echo")
    return server


def serve_echo(port: int) -> None:
    """Run the bare Litestar handler with the WebSocket options of ``assistant serve``."""
    uvicorn.run(
        Litestar([echo]),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **WEBSOCKET_OPTIONS,
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "echo":
        serve_echo(int(sys.argv[2]))
    else:
        raise SystemExit("usage: python -m bench._servers echo PORT")
