"""A fresh clone works as the README says: ``make run`` serves, ``make admin`` creates an admin
who can sign in, and stopping the server leaves no PostgreSQL behind.

The clone is of this checkout's HEAD (committed work only), in a temporary folder, with the
``PATH`` a new user has (no ``.venv/bin``, no ``~/.local/bin``); uv's download cache is shared,
so the clone's ``make`` installs from it. Bounded: each step has a time limit.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import ROOT
from tests.integration.served import free_port, serving, user_env

if TYPE_CHECKING:
    from collections.abc import Iterator

CLONE_TIMEOUT_S = 120
ADMIN_TIMEOUT_S = 300
FIRST_START_TIMEOUT_S = 600  # `make run` installs the locked packages into a new .venv first
PASSWORD = "correct horse"


def _head() -> str | None:
    if shutil.which("git") is None:
        return None
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


@pytest.fixture
def clone() -> Iterator[Path]:
    """This checkout's HEAD, cloned into a temporary folder under /tmp (pgserver, run as root,
    hands the data folder to its own user, which must be able to reach it)."""
    head = _head()
    if head is None:
        pytest.skip("not a git checkout (or no git): nothing to clone")
    with tempfile.TemporaryDirectory(prefix="assistant-clone-", dir="/tmp") as tmp:
        target = Path(tmp) / "unified-assistant"
        for command in (
            ["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(target)],
            ["git", "-C", str(target), "checkout", "--quiet", head],
        ):
            subprocess.run(command, check=True, timeout=CLONE_TIMEOUT_S)
        yield target


def _postmaster_running(pgdata: Path) -> bool:
    """PostgreSQL keeps ``postmaster.pid`` while it runs and removes it when it stops."""
    return (pgdata / "postmaster.pid").exists()


def test_make_run_then_make_admin_on_a_fresh_clone(clone: Path) -> None:
    port = free_port()
    env = {**user_env(), "PORT": str(port)}
    env.pop("DATA_DIR", None)  # the README's default, ./var in the clone
    log = clone.parent / "make-run.log"
    pgdata = clone / "var" / "postgres"
    with serving(
        ["make", "run"],
        cwd=clone,
        env=env,
        port=port,
        log=log,
        start_timeout_s=FIRST_START_TIMEOUT_S,
    ) as served:
        assert (clone / ".venv" / "bin" / "assistant").exists()
        admin = subprocess.run(
            ["make", "admin"],
            cwd=clone,
            env={**env, "EMAIL": "admin@example.org", "PASSWORD": PASSWORD},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=ADMIN_TIMEOUT_S,
            check=False,
        )
        assert admin.returncode == 0, admin.stdout + admin.stderr
        assert f"database: embedded PostgreSQL in DATA_DIR={clone / 'var'}" in admin.stderr
        assert f"the server at {served.base} uses this database" in admin.stderr
        assert "admin created: admin@example.org" in admin.stdout
        assert PASSWORD not in admin.stdout + admin.stderr  # make must not echo it

        login = httpx.post(
            f"{served.base}/api/v1/auth/login",
            json={"email": "admin@example.org", "password": PASSWORD},
            timeout=30,
        )
        assert login.status_code == 200, login.text
        me = httpx.get(
            f"{served.base}/api/v1/auth/me",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            timeout=30,
        )
        assert me.json()["role"] == "admin"
        assert _postmaster_running(pgdata)
    # `serving` stopped make, uv and the server with SIGTERM.
    assert not _postmaster_running(pgdata), log.read_text()
