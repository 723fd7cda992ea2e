"""Statements sent on the driver's connection (server.db.direct) are the session's: its
transaction, its organisation, its pending changes; their errors read like SQLAlchemy's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

import server.access
from server.db.direct import driver, fetch
from server.db.models import Project
from server.db.tenancy import org_context
from server.errors import domain_error_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from uuid import UUID

    from litestar import Litestar

    from tests.integration.conftest import Account


async def test_driver_statements_run_in_the_sessions_transaction_and_organisation(
    app: Litestar,
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
    make_org: Callable[..., Awaitable[UUID]],
) -> None:
    member = await make_account()
    project = await make_project({member.id: "owner"}, "Harbour plan")
    elsewhere = await make_project({}, "Elsewhere", org_id=await make_org("Other organisation"))
    sessions = server.access.runtime_of(app).alchemy
    with org_context(member.org_id):
        async with sessions.get_session() as db:
            connection = await driver(db)
            assert connection.is_in_transaction()
            setting = "SELECT current_setting('app.org_id', true)"
            assert await connection.fetchval(setting) == str(member.org_id)
            # Row-level security holds: the other organisation's project is not there.
            name = "SELECT name FROM projects WHERE id = $1"
            assert await connection.fetchval(name, elsewhere) is None
            # A change the session holds is flushed before a driver statement reads it...
            row = await db.get(Project, project)
            assert row is not None
            row.name = "Renamed plan"
            assert await (await driver(db)).fetchval(name, project) == "Renamed plan"
            [found] = await fetch(
                db, text("SELECT name FROM projects WHERE id = :id"), {"id": project}
            )
            assert found.name == found["name"] == "Renamed plan"
            # ...and goes with the session's rollback, as the driver's own writes do.
            await connection.execute(
                "UPDATE projects SET template = 'changed' WHERE id = $1", project
            )
            await db.rollback()
        async with sessions.get_session() as db:
            stored = await db.get(Project, project)
            assert stored is not None
            assert (stored.name, stored.template) != ("Renamed plan", "changed")
            assert stored.name == "Harbour plan"


_DUPLICATE_MEMBERS = (
    "INSERT INTO project_members (id, project_id, user_id, role)"
    " SELECT gen_random_uuid(), project_id, user_id, role FROM project_members"
    " WHERE project_id = $1::uuid"
)


@pytest.mark.parametrize(
    ("statement", "argument", "code"),
    [
        ("SELECT $1::int", 2**40, "invalid"),  # refused by the driver before it is sent
        ("SELECT $1::text", "a\x00b", "invalid"),  # refused by PostgreSQL (22021)
        ("SELECT 1 / $1::int", 0, "invalid"),  # a data exception (22012)
        (_DUPLICATE_MEMBERS, None, "conflict"),  # a unique violation (23505)
    ],
)
async def test_driver_errors_map_to_the_clients_errors_like_sqlalchemys(
    app: Litestar,
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
    statement: str,
    argument: object,
    code: str,
) -> None:
    member = await make_account()
    project = await make_project({member.id: "owner"})
    sessions = server.access.runtime_of(app).alchemy
    with org_context(member.org_id):
        async with sessions.get_session() as db:
            with pytest.raises(Exception) as raised:  # noqa: PT011 - the driver's own classes
                await (await driver(db)).execute(
                    statement, project if argument is None else argument
                )
    mapped = domain_error_of(raised.value)
    assert mapped is not None
    assert mapped.code == code
