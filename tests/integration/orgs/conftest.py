"""Fixtures for organisation tests: the served app and WebSocket client of the chat tests, and
two organisations with content in the first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from server.db.models import ChatMessage, ChatSession, Chunk, Document
from tests.integration.chat.conftest import serve

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.integration.conftest import Account

__all__ = ["SECRET", "Orgs", "serve"]

SECRET = "The Harrow Mill sourdough uses rosemary from the north field."
"""A sentence only organisation A has, in a document, a chunk and a chat message."""


@dataclass(frozen=True)
class Orgs:
    """Organisation A (the test's) with a project holding content, and organisation B."""

    a: UUID
    b: UUID
    owner_a: Account
    """Owner of ``project_a``, a member of A."""
    admin_a: Account
    """An org_admin of A, in no project."""
    member_b: Account
    """A member of B, owner of ``project_b``."""
    project_a: UUID
    project_b: UUID
    document_a: UUID
    session_a: UUID


@pytest.fixture
async def orgs(
    db: AsyncSession,
    org: UUID,
    make_org: Callable[..., Awaitable[UUID]],
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
) -> Orgs:
    """Two organisations; A's project has a searchable document chunk and a chat message."""
    other = await make_org("Organisation B")
    owner_a = await make_account()
    admin_a = await make_account(org_role="org_admin")
    member_b = await make_account(org_id=other)
    project_a = await make_project({owner_a.id: "owner"}, name="A's plan")
    project_b = await make_project({member_b.id: "owner"}, name="B's plan", org_id=other)
    document = Document(
        project_id=project_a,
        filename="recipe.md",
        kind="markdown",
        size_bytes=len(SECRET),
        sha256="a" * 64,
        status="completed",
        title="Recipe",
    )
    chat_session = ChatSession(project_id=project_a, title="Recipes", last_seq=1)
    db.add_all([document, chat_session])
    await db.flush()
    db.add(
        Chunk(project_id=project_a, source_type="document", document_id=document.id, text=SECRET)
    )
    db.add(
        ChatMessage(
            session_id=chat_session.id, project_id=project_a, seq=1, role="user", content=SECRET
        )
    )
    await db.commit()
    return Orgs(
        org, other, owner_a, admin_a, member_b, project_a, project_b, document.id, chat_session.id
    )
