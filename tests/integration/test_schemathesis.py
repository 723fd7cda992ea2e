"""A bounded schemathesis run over the OpenAPI document of a served app: no input the schema
allows (nor the invalid input schemathesis derives from it) makes the server answer 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from tests.conftest import ROOT
from tests.integration.chat.conftest import serve

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path
    from uuid import UUID

    from tests.integration.conftest import Account

__all__ = ["serve"]
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5")
"""Examples per operation; raise it (``make fuzz``) for a longer run."""


async def test_no_operation_answers_5xx(
    serve: Callable[..., Any],
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
    tmp_path: Path,
) -> None:
    served = serve(ROOT / "config.json")
    admin = await make_account(role="admin")
    await make_project({admin.id: "owner"}, name="Fuzzed")
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{served.http}/schema/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        "11",
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--header",
        f"Authorization: Bearer {admin.token}",
        # Logging out would revoke the token the rest of the run uses.
        "--exclude-path",
        "/api/v1/auth/logout",
    ]
    result = subprocess.run(  # the served app runs in its own thread
        command, capture_output=True, text=True, timeout=1800, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
