from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.unit.render.sample import business_plan

if TYPE_CHECKING:
    from render import ExportDocument


@pytest.fixture(scope="module")
def plan() -> ExportDocument:
    return business_plan()
