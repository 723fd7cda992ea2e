"""``assistant documents check`` and ``reembed`` as an operator runs them, in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select, text

from providers import MiniLMEmbedder, WordLlamaEmbedder, embedding_space
from server.db.models import Chunk
from server.documents.retrieval import search
from tests.conftest import ROOT

from .test_index_and_citations import _indexed

if TYPE_CHECKING:
    from typing import Any

    from sqlalchemy.ext.asyncio import AsyncSession


def _assistant(
    *args: str, data_dir: Path, db_url: str, config: Path = ROOT / "config.json"
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DATA_DIR": str(data_dir),
        "ASSISTANT_CONFIG": str(config),
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


async def test_reembed_migrates_vectors_to_the_model_config_json_names(
    clean_db: str, tmp_path: Path, db: AsyncSession, make_account: Any, make_project: Any
) -> None:
    old, new = WordLlamaEmbedder(), MiniLMEmbedder()
    owner, project_id, _ = await _indexed(db, None, old, make_account, make_project)
    chunks = len((await db.scalars(select(Chunk.id))).all())
    statistics = (await db.execute(text("SELECT chunks, total_length FROM bm25_scopes"))).all()
    config = json.loads((ROOT / "config.json").read_text())
    config["embeddings"] |= {"model": new.model, "dimensions": new.dimensions}
    minilm = tmp_path / "config.json"
    minilm.write_text(json.dumps(config))

    stale = _assistant("documents", "check", data_dir=tmp_path, db_url=clean_db, config=minilm)
    assert stale.returncode == 1
    assert f"chunks of another embedding space: {chunks}" in stale.stdout
    moved = _assistant("documents", "reembed", data_dir=tmp_path, db_url=clean_db, config=minilm)
    assert moved.returncode == 0, moved.stderr
    assert f"{chunks} chunks re-embedded into {embedding_space(new)}" in moved.stdout
    after = _assistant("documents", "check", data_dir=tmp_path, db_url=clean_db, config=minilm)
    assert "chunks of another embedding space: 0" in after.stdout

    db.expire_all()
    spaces = set((await db.scalars(select(Chunk.embedding_space).distinct())).all())
    assert spaces == {"local/all-minilm-l6-v2-int8/384"}
    hits = await search(
        db,
        user_id=owner.id,
        project_id=project_id,
        query="who delivers the flour?",
        mode="vector",
        embedder=new,
    )
    assert "Harrow Mill" in hits[0].text
    # Re-embedding touches vectors only: the keyword statistics are as they were.
    assert (await db.execute(text("SELECT chunks, total_length FROM bm25_scopes"))).all() == (
        statistics
    )
