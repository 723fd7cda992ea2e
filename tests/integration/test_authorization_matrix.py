"""Every HTTP endpoint, called by every kind of caller, answers as its access rule says.

The cases come from the app's route table, so a new endpoint is checked the day it is added, and
one without ``opt["access"]`` fails this test. Each case gets fresh accounts, a fresh project and
a fresh second organisation, so destructive calls (delete the project, remove a member, delete a
user, log out) cannot spoil the others.

The callers: nobody; the project's viewer, editor and owner and a ``stranger`` (members of
organisation A, where the project is, the stranger in no project role); ``org_admin`` (an
organisation administrator of A, in no project role); ``outsider`` (a member of organisation B,
whose token works there); and a server administrator (a member of A in no project role).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from server.db.models import ROLE_RANK, ChatMessage, ChatSession, Document, Export

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from litestar import Litestar
    from litestar.handlers import HTTPRouteHandler
    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.integration.conftest import Account

CALLERS = ("anonymous", "viewer", "editor", "owner", "stranger", "org_admin", "outsider", "admin")
MEMBER_ROLES = ("viewer", "editor", "owner")
ORG_A_MEMBERS = (*MEMBER_ROLES, "stranger", "org_admin", "admin")
_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
# Values for parameters the case does not name, by path-parameter type: anything the route
# accepts, so that the request reaches the guard rather than the router's 404.
_BY_TYPE = {"int": "1", "float": "1.0", "str": "x", "path": "/x", "decimal": "1"}

# Rows to hang a project-scoped resource on, for routes declaring ``opt["project_of"]``:
# model -> async (session, project_id) -> id of a new row in that project. A route whose model
# is missing here fails the test with a message saying so.


async def _document(db: AsyncSession, project_id: UUID) -> UUID:
    document = Document(
        project_id=project_id,
        filename="notes.md",
        kind="markdown",
        size_bytes=1,
        sha256=uuid4().hex * 2,
        status="uploaded",
    )
    db.add(document)
    await db.commit()
    return document.id


async def _chat_session(db: AsyncSession, project_id: UUID) -> UUID:
    chat = ChatSession(project_id=project_id, title="Probe")
    db.add(chat)
    await db.commit()
    return chat.id


async def _chat_message(db: AsyncSession, project_id: UUID) -> UUID:
    chat = ChatSession(project_id=project_id, title="Probe", last_seq=1)
    db.add(chat)
    await db.flush()
    reply = ChatMessage(
        session_id=chat.id, project_id=project_id, seq=1, role="assistant", content="An answer."
    )
    db.add(reply)
    await db.commit()
    return reply.id


async def _export(db: AsyncSession, project_id: UUID) -> UUID:
    export = Export(project_id=project_id, format="md")
    db.add(export)
    await db.commit()
    return export.id


RESOURCE_FACTORIES: dict[type, Callable[[AsyncSession, UUID], Awaitable[UUID]]] = {
    ChatMessage: _chat_message,
    ChatSession: _chat_session,
    Document: _document,
    Export: _export,
}


def _endpoints(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    """(method, path, handler) for every HTTP endpoint but the OpenAPI pages and auto-OPTIONS."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/schema"):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method == "OPTIONS" and "access" not in handler.opt:
                    continue  # Litestar's generated preflight answer, checked below
                yield method, route.path, handler


def _fill(path: str, params: dict[str, UUID]) -> str:
    """The path with the case's parameters filled in, any other UUID random, the rest typical."""

    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2) or "str"
        if name in params:
            return str(params[name])
        return _BY_TYPE.get(kind, str(uuid4()))

    return _PARAM.sub(value, path)


def _expected(access: str, caller: str) -> str:
    """``allowed``, or the status the guard must answer with."""
    if access == "public":
        return "allowed"
    if caller == "anonymous":
        return "401"
    if access == "user":
        return "allowed"
    if access == "admin":
        return "allowed" if caller == "admin" else "403"
    if access.startswith("org:"):
        if caller not in ORG_A_MEMBERS:
            return "404"
        if access == "org:admin" and caller not in {"org_admin", "admin"}:
            return "403"
        return "allowed"
    needed = access.removeprefix("project:")
    if caller not in MEMBER_ROLES:
        return "404"
    return "allowed" if ROLE_RANK[caller] >= ROLE_RANK[needed] else "403"


def _problem(expected: str, status: int, body: dict[str, Any], guard_404: str) -> str | None:
    """Why the answer does not match, or None."""
    if status >= 500:
        return f"server error {status}"
    if set(body) < {"code", "message"} and status >= 400:
        return f"error without code/message: {body}"
    if expected == "allowed":
        if status in {401, 403} or (status == 404 and body.get("message") == guard_404):
            return f"refused with {status} {body.get('message')!r}"
        return None
    if str(status) != expected:
        return f"got {status} {body.get('message')!r}"
    if status == 404 and body.get("message") != guard_404:
        return f"404 not from the guard: {body.get('message')!r}"
    return None


async def test_every_endpoint_answers_every_caller_as_its_access_rule_says(
    app: Litestar,
    db: AsyncSession,
    make_account: Callable[..., Awaitable[Account]],
    make_project: Callable[..., Awaitable[UUID]],
    make_org: Callable[..., Awaitable[UUID]],
    org: UUID,
) -> None:
    endpoints = list(_endpoints(app))
    undeclared = [f"{m} {p}" for m, p, h in endpoints if "access" not in h.opt]
    assert not undeclared, f"handlers without opt['access']: {undeclared}"
    paths = {p for _, p, _ in endpoints}
    assert {"/api/v1/projects/{project_id:uuid}", "/api/v1/audit"} <= paths, paths

    mismatches: list[str] = []
    async with AsyncTestClient(app=app) as client:
        for method, path, handler in endpoints:
            access: str = handler.opt["access"]
            for caller in CALLERS:
                other_org = await make_org("Organisation B")
                people = {
                    name: await make_account(
                        role="admin" if name == "admin" else "user",
                        org_id=other_org if name == "outsider" else None,
                        org_role="org_admin" if name == "org_admin" else "member",
                    )
                    for name in CALLERS[1:]
                }
                project = await make_project(
                    {people[r].id: r for r in MEMBER_ROLES}, name=f"{method} {path}"
                )
                params = {"project_id": project, "user_id": people["viewer"].id, "org_id": org}
                guard_404 = "organisation not found" if "org_id" in path else "project not found"
                project_of = handler.opt.get("project_of")
                if project_of is not None:
                    param, model = project_of
                    factory = RESOURCE_FACTORIES.get(model)
                    if factory is None:
                        mismatches.append(
                            f"{method} {path}: add a {model.__name__} factory to "
                            "RESOURCE_FACTORIES in this test"
                        )
                        break
                    params[param] = await factory(db, project)
                    guard_404 = f"{param.removesuffix('_id')} not found"
                url = _fill(path, params)
                headers = {} if caller == "anonymous" else people[caller].headers
                body = {} if method in {"POST", "PUT", "PATCH"} else None
                response = await client.request(method, url, headers=headers, json=body)
                try:
                    answer = response.json() if response.content else {}
                except ValueError:
                    answer = {}
                problem = _problem(
                    _expected(access, caller),
                    response.status_code,
                    answer if isinstance(answer, dict) else {},
                    guard_404,
                )
                if problem and method == "HEAD" and problem.startswith("error without"):
                    problem = None  # a HEAD answer has no body to carry the error
                if problem:
                    mismatches.append(f"{method} {path} [{access}] as {caller}: {problem}")

        preflight = await client.options("/api/v1/projects")
        if preflight.status_code != 204:
            mismatches.append(f"OPTIONS /api/v1/projects: got {preflight.status_code}")

    assert not mismatches, "\n".join(["authorization mismatches:", *mismatches])
