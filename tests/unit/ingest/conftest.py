from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.unit.ingest._files import CORPORA

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="session")
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip("the shared corpora folder is absent")
    return CORPORA.resolve()
