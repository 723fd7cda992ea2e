"""``assistant documents check`` and ``reembed`` as an operator runs them, in a subprocess."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def _assistant(*args: str, data_dir: Path, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DATA_DIR": str(data_dir),
        "ASSISTANT_CONFIG": str(ROOT / "config.json"),
        "SECRET_KEY": "cli-test-secret-" + "x" * 32,
    }
    return subprocess.run(
        [str(Path(sys.executable).with_name("assistant")), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )


async def test_check_finds_an_orphan_file_and_repair_removes_it(
    clean_db: str, tmp_path: Path
) -> None:
    orphan = hashlib.sha256(b"left behind").hexdigest()
    path = tmp_path / "files" / orphan[:2] / orphan
    path.parent.mkdir(parents=True)
    path.write_bytes(b"left behind")

    found = _assistant("documents", "check", data_dir=tmp_path, db_url=clean_db)
    assert found.returncode == 1, found.stderr
    assert orphan in found.stdout
    assert "files without a document: 1" in found.stdout

    repaired = _assistant("documents", "check", "--repair", data_dir=tmp_path, db_url=clean_db)
    assert repaired.returncode == 0, repaired.stderr
    assert not path.exists()
    clean = _assistant("documents", "check", data_dir=tmp_path, db_url=clean_db)
    assert "all consistent" in clean.stdout

    reembedded = _assistant("documents", "reembed", data_dir=tmp_path, db_url=clean_db)
    assert reembedded.returncode == 0, reembedded.stderr
    assert "0 chunks re-embedded into local/wordllama-l2_supercat/256" in reembedded.stdout
