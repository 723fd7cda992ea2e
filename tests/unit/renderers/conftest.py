from __future__ import annotations

import pytest

from tasks.renderers import ExportDocument
from tests.unit.renderers.sample import business_plan


@pytest.fixture(scope="module")
def plan() -> ExportDocument:
    return business_plan()
