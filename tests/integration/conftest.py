"""Fixtures for HTTP tests: accounts and projects written straight into the worker's database.

Accounts share one argon2id hash of :data:`PASSWORD` (hashing is deliberately slow) and get an
access token minted with the app's secret, so a test can set up many callers cheaply; tests of
login itself go through the API. Every account is a member of the test's organisation (``org``)
unless given another, and its token works in that organisation; projects are made in it too.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from server.accounts.security import encode_access_token, hash_password
from server.db.models import Organisation, OrganisationMember, Project, ProjectMember, User
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings

PASSWORD = "correct horse battery staple"
ASSISTANT = (sys.executable, "-c", "from server.cli import main; main()")
"""The ``assistant`` command, run from this checkout by the test's interpreter."""


def cli_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """Environment for an ``assistant`` subprocess: this process's, minus server settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PORT", "HOST"}
    }
    env.update(
        PYTHONPATH=str(ROOT), DATA_DIR=str(data_dir), ASSISTANT_CONFIG=str(ROOT / "config.json")
    )
    env.update(settings)
    return env


@dataclass(frozen=True)
class Account:
    """A user in the database and a valid access token for it."""

    id: UUID
    email: str
    role: str
    token: str
    org_id: UUID
    """The organisation the token works in."""

    @property
    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header of this account."""
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2id hash of :data:`PASSWORD`, shared by every inserted account."""
    return hash_password(PASSWORD)


@pytest.fixture
async def db(clean_db: str) -> AsyncIterator[AsyncSession]:
    """A session on the worker's database, for arranging rows and checking what the API wrote."""
    engine = create_async_engine(clean_db)
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        yield db
    await engine.dispose()


def mint_token(
    account_id: UUID, settings: Settings, org_id: UUID, *, family: UUID | None = None
) -> str:
    """An access token as login would issue it for ``org_id``, in a new (or the given) refresh
    family."""
    return encode_access_token(
        account_id, family or uuid4(), org_id, settings.auth.access_ttl_s, settings.app.secret_key
    )


@pytest.fixture
def make_org(db: AsyncSession) -> Callable[..., Awaitable[UUID]]:
    """Insert an organisation; returns its id."""

    async def make(name: str = "Organisation") -> UUID:
        org = Organisation(name=name)
        db.add(org)
        await db.commit()
        return org.id

    return make


@pytest.fixture
async def org(make_org: Callable[..., Awaitable[UUID]]) -> UUID:
    """The test's organisation, where accounts and projects go unless told otherwise."""
    return await make_org("Test organisation")


@pytest.fixture
def make_account(
    db: AsyncSession, settings: Settings, password_hash: str, org: UUID
) -> Callable[..., Awaitable[Account]]:
    """Insert an account (``role`` user or admin) whose password is :data:`PASSWORD`, a member
    (``org_role``) of ``org_id`` (default: the test's organisation), with a token working there."""

    async def make(
        email: str | None = None,
        *,
        role: str = "user",
        org_id: UUID | None = None,
        org_role: str = "member",
    ) -> Account:
        email = email or f"{role}-{uuid4().hex[:12]}@example.org"
        org_id = org_id or org
        user = User(email=email, password_hash=password_hash, role=role)
        db.add(user)
        await db.flush()
        db.add(OrganisationMember(org_id=org_id, user_id=user.id, role=org_role))
        await db.commit()
        return Account(user.id, email, role, mint_token(user.id, settings, org_id), org_id)

    return make


@pytest.fixture
def make_project(db: AsyncSession, org: UUID) -> Callable[..., Awaitable[UUID]]:
    """Insert a project with the given ``{user_id: role}`` members, in ``org_id`` (default: the
    test's organisation); returns its id."""

    async def make(
        members: dict[UUID, str], name: str = "Project", *, org_id: UUID | None = None
    ) -> UUID:
        project = Project(name=name, template="business-plan", org_id=org_id or org)
        db.add(project)
        await db.flush()
        db.add_all(
            ProjectMember(project_id=project.id, user_id=user_id, role=role)
            for user_id, role in members.items()
        )
        await db.commit()
        return project.id

    return make
