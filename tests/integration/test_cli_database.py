"""The CLI never writes silently to another database than the running server's.

One real ``assistant serve`` on the embedded PostgreSQL: ``create-admin`` with the server's
``DATA_DIR`` says so and the admin can sign in; with another ``DATA_DIR`` it warns first; a second
``serve`` on the same port is refused in one line; SIGTERM leaves no PostgreSQL behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

import httpx

from tests.conftest import ROOT
from tests.integration.conftest import ASSISTANT, PASSWORD, cli_env
from tests.integration.served import free_port, serving, stop


def _assistant(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ASSISTANT, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _postmaster_running(pgdata: Path) -> bool:
    """PostgreSQL keeps ``postmaster.pid`` while it runs and removes it when it stops."""
    return (pgdata / "postmaster.pid").exists()


def test_the_cli_names_its_database_and_the_servers() -> None:
    with tempfile.TemporaryDirectory(prefix="assistant-cli-db-", dir="/tmp") as tmp:
        served_dir, other_dir, port = Path(tmp) / "served", Path(tmp) / "other", free_port()
        env = cli_env(served_dir, PORT=str(port), HOST="127.0.0.1")
        with serving(
            (*ASSISTANT, "serve"), cwd=ROOT, env=env, port=port, log=Path(tmp) / "serve.log"
        ) as served:
            elsewhere = _assistant(
                "create-admin",
                *("--email", "lost@example.org", "--password", PASSWORD),
                env=cli_env(other_dir, PORT=str(port), HOST="127.0.0.1"),
            )
            assert elsewhere.returncode == 0, elsewhere.stderr
            assert f"database: embedded PostgreSQL in DATA_DIR={other_dir}" in elsewhere.stderr
            assert f"warning: the server at {served.base} uses another database" in elsewhere.stderr

            here = _assistant(
                "create-admin", *("--email", "boss@example.org", "--password", PASSWORD), env=env
            )
            assert here.returncode == 0, here.stderr
            assert f"database: embedded PostgreSQL in DATA_DIR={served_dir}" in here.stderr
            assert f"the server at {served.base} uses this database" in here.stderr
            assert here.stdout.splitlines() == [
                "admin created: boss@example.org",
                f"sign in: POST {served.base}/api/v1/auth/login with this email and password",
            ]
            login = {"email": "boss@example.org", "password": PASSWORD}
            assert httpx.post(f"{served.base}/api/v1/auth/login", json=login).status_code == 200
            lost = {"email": "lost@example.org", "password": PASSWORD}
            assert httpx.post(f"{served.base}/api/v1/auth/login", json=lost).status_code == 401

            second = _assistant("serve", env=cli_env(other_dir, PORT=str(port), HOST="127.0.0.1"))
            assert second.returncode == 2
            assert second.stderr.strip() == (
                f"error: a Unified Assistant server already answers at {served.base} "
                "(on another database); stop it first, or serve on another PORT"
            )
            assert _postmaster_running(served_dir / "postgres")
            # The server alone, as `kill <pid>` or a service manager does: it must take its
            # PostgreSQL down with it.
            code = stop(served, group=False)
            assert code in {0, -15}, served.log.read_text()
            assert not _postmaster_running(served_dir / "postgres"), served.log.read_text()


def test_a_crash_then_a_reused_pid_does_not_stop_the_next_start() -> None:
    """After a crash the lock file can name a process number another program now has:
    PostgreSQL would refuse to start, and pgserver would kill that program at exit."""
    with tempfile.TemporaryDirectory(prefix="assistant-stale-", dir="/tmp") as tmp:
        data_dir, port = Path(tmp) / "data", free_port()
        pgdata = data_dir / "postgres"
        env = cli_env(data_dir, PORT=str(port), HOST="127.0.0.1")
        with serving(
            (*ASSISTANT, "serve"), cwd=ROOT, env=env, port=port, log=Path(tmp) / "serve.log"
        ) as served:
            postmaster = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            os.kill(served.process.pid, signal.SIGKILL)
            os.kill(postmaster, signal.SIGKILL)
            served.process.wait()
        bystander = subprocess.Popen(["sleep", "600"])
        try:
            lock = pgdata / "postmaster.pid"
            lines = lock.read_text().split("\n")
            lock.write_text("\n".join([str(bystander.pid), *lines[1:]]))

            upgraded = _assistant("db", "upgrade", env=env)
            assert upgraded.returncode == 0, upgraded.stderr
            assert f"removing a stale postmaster.pid naming process {bystander.pid}" in (
                upgraded.stderr
            )
            assert bystander.poll() is None  # alive: nobody took it for the postmaster
            assert not _postmaster_running(pgdata)  # db upgrade stopped what it started
        finally:
            bystander.kill()
            bystander.wait()
