from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.unit.renderers.sample import business_plan

if TYPE_CHECKING:
    from tasks.renderers import ExportDocument


@pytest.fixture(scope="module")
def plan() -> ExportDocument:
    return business_plan()
