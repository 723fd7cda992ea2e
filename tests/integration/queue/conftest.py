"""Fault-test fixtures: the app in Redis mode, real worker processes (``assistant worker`` or
``dramatiq tasks``), own Redis.

Each test gets its own queue namespace (Redis keys) so parallel runs never share messages.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import uuid4

import pytest
import redis

from server.app import create_app
from tests.conftest import REDIS_URL, ROOT

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from litestar import Litestar

    from server.settings import Settings

ASSISTANT = Path(sys.executable).parent / "assistant"
DRAMATIQ = Path(sys.executable).parent / "dramatiq"
TIMEOUT_S = 4
"""Attempt timeout of exports in these tests: a killed worker's job is taken over after it."""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def queue_settings(settings: Settings, redis_url: str) -> Settings:
    """``settings`` in Redis mode with a private namespace and quick recovery."""
    return replace(
        settings,
        redis=replace(settings.redis, url=redis_url),
        queue=replace(
            settings.queue,
            namespace=f"ua-test-{uuid4().hex[:12]}",
            sweep_interval_s=1,
            queued_grace_s=1,
        ),
        exports=replace(settings.exports, job_timeout_s=TIMEOUT_S),
    )


class Workers:
    """Worker processes sharing one app's settings and database."""

    def __init__(self, settings: Settings, db_url: str) -> None:
        self.settings = settings
        self.db_url = db_url
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *, dramatiq: bool = False, **env: str) -> subprocess.Popen[bytes]:
        """Start ``assistant worker`` (or ``dramatiq tasks`` with one process); ``env`` adds or
        overrides environment variables."""
        s = self.settings
        assert s.redis.url is not None
        environment = {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "REDIS_URL": s.redis.url,
            "DATA_DIR": str(s.app.data_dir),
            "ASSISTANT_CONFIG": str(ROOT / "config.json"),
            "SECRET_KEY": s.app.secret_key,
            "QUEUE_NAMESPACE": s.queue.namespace,
            "QUEUE_SWEEP_INTERVAL": "1",
            "QUEUE_GRACE": "1",
            "WORKER_THREADS": "2",
            **env,
        }
        log = (s.app.data_dir / f"worker-{len(self.processes)}.log").open("wb")
        command = (
            [str(DRAMATIQ), "tasks", "--processes", "1", "--threads", "2"]
            if dramatiq
            else [str(ASSISTANT), "worker"]
        )
        process = subprocess.Popen(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        """Terminate every worker still running."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(settings: Settings, clean_db: str) -> Iterator[Callable[[Settings], Workers]]:
    """Start workers for given settings; all are stopped after the test."""
    started: list[Workers] = []

    def make(queue: Settings) -> Workers:
        group = Workers(queue, clean_db)
        started.append(group)
        return group

    yield make
    for group in started:
        group.stop_all()


@pytest.fixture
def redis_app(settings: Settings, clean_db: str) -> Litestar:
    """The app in Redis mode against the machine's Redis; jobs only run in worker processes."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    return create_app(queue_settings(settings, REDIS_URL), clean_db)


class RedisServer:
    """A private ``redis-server`` on a free port, started and stopped by the test."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers."""
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
            except redis.ConnectionError:
                time.sleep(0.05)
            else:
                return
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Stop it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis server of this test's own, not yet started."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(free_port(), tmp_path)
    yield server
    server.stop()
