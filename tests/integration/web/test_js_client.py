"""The JavaScript client's own tests (``node --test clients/js/test``) against the real server:
streaming, reconnect with replay, resend of unacknowledged messages, token refresh."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.chat.conftest import Served

CLIENT_DIR = ROOT / "clients" / "js"


def node_command() -> list[str]:
    """``node`` with the flag Node 20 needs for its global ``WebSocket`` (22 has it built in)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; the JavaScript client's tests need Node 20.10 or later")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.strip().lstrip("v").split(".")[0])
    return [node, "--experimental-websocket"] if major < 22 else [node]


def test_the_js_client_against_the_real_server(serve_web: Callable[..., Served]) -> None:
    served = serve_web(access_ttl_s=4)  # short-lived tokens: the client must refresh them
    result = subprocess.run(
        [*node_command(), "--test", "--test-reporter=spec", "test/"],
        cwd=CLIENT_DIR,
        env={**os.environ, "UA_BASE_URL": served.http, "NODE_NO_WARNINGS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert re.search(r"\bfail 0\b", report), report
    assert not re.search(r"\bpass 0\b", report), report
    print(report)  # the spec report, shown with -s or on failure
