"""Pytest fixtures for the fake provider server; use with ``from tests.fakes.fixtures import *``
in a conftest.py, or import the fixtures by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .provider_server import FakeProviders

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def fake_provider_server() -> Iterator[FakeProviders]:
    """One fake server per test session (scripts are shared: prefer ``fake_providers``)."""
    with FakeProviders() as fake:
        yield fake


@pytest.fixture
def fake_providers() -> Iterator[FakeProviders]:
    """A fresh fake server for one test, on its own free port."""
    with FakeProviders() as fake:
        yield fake


__all__ = ["fake_provider_server", "fake_providers"]
