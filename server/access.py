r"""Authentication and the one guard every route passes through.

Every route handler declares who may call it in ``opt["access"]``:

- ``"public"``: anyone (the handler also sets ``exclude_from_auth``);
- ``"user"``: any signed-in user;
- ``"admin"``: users with the ``admin`` role;
- ``"project:viewer" | "project:editor" | "project:owner"``: members of the project named by the
  ``project_id`` path parameter (or found through ``opt["project_of"]``) with at least that role;
  the project must belong to the organisation the access token is for (its ``org`` claim);
- ``"org:member" | "org:admin"``: members (or ``org_admin``\ s) of the organisation named by the
  ``org_id`` path parameter; server administrators pass both (they manage organisations).

A project or organisation the caller is not a member of answers 404, never 403: its existence is
not revealed. The organisation check is made here, in the application, and again by PostgreSQL:
every request's database session works for the token's organisation only (row-level security,
``server.db.tenancy``), so a mistake in a check above still shows nothing of another one.
The guard fails closed: a handler without ``access`` answers 403 to everyone, and the
authorization-matrix test fails for it.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler
from litestar.security.jwt import OAuth2PasswordBearerAuth
from sqlalchemy import select

from server.db import session
from server.db.brief import brief_join, keep_brief
from server.db.direct import driver
from server.db.models import (
    ROLE_RANK,
    OrganisationMember,
    Project,
    ProjectMember,
    RefreshToken,
    User,
)
from server.db.tenancy import bind_org, current_org, enter_org
from server.errors import forbidden, not_found, unauthorized
from server.runtime import runtime_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Collection

    from litestar.connection import ASGIConnection
    from litestar.handlers import BaseRouteHandler
    from litestar.security.jwt import Token
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.settings import Settings

ALGORITHM: Final = "HS256"
"""How access tokens are signed (``server.accounts.security`` issues them with it)."""
PUBLIC: Final = {"access": "public", "exclude_from_auth": True}
USER: Final = {"access": "user"}
ADMIN: Final = {"access": "admin"}
VIEWER: Final = {"access": "project:viewer"}
EDITOR: Final = {"access": "project:editor"}
OWNER: Final = {"access": "project:owner"}
ORG_MEMBER: Final = {"access": "org:member"}
ORG_ADMIN: Final = {"access": "org:admin"}


def db_session(connection: ASGIConnection[Any, Any, Any, Any]) -> AsyncSession:
    """The HTTP request's own database session (the same one handlers get injected).

    It is committed and closed by the before-send hook when the response starts; a WebSocket
    has no such moment when the client leaves, so sockets use :func:`lookup_session`.
    """
    config = runtime_of(connection.app).alchemy
    return config.provide_session(connection.app.state, connection.scope)


@asynccontextmanager
async def lookup_session(
    connection: ASGIConnection[Any, Any, Any, Any],
) -> AsyncIterator[AsyncSession]:
    """A session for the auth and guard look-ups: the request's own for HTTP, else a short one.

    A session parked in a WebSocket's scope would hold a pooled connection for the socket's
    whole life and never be closed when the client disconnects (only a ``websocket.close`` the
    server sends ends it), leaving the connection to the garbage collector.
    """
    if connection.scope["type"] == ScopeType.HTTP:
        yield db_session(connection)
        return
    async with session(runtime_of(connection.app).alchemy) as db:
        yield db


def token_org(token: Token) -> UUID | None:
    """The organisation an access token is for (its ``org`` claim), if it names one."""
    try:
        return UUID(str(token.extras.get("org")))
    except ValueError:
        return None


async def user_for_token(token: Token, db: AsyncSession) -> User | None:
    """The active user an access token names, unless its refresh family was revoked (logout)
    or the user is no longer a member of the token's organisation."""
    if token.extras.get("typ") != "access":
        return None
    try:
        user_id, family_id = UUID(token.sub), UUID(str(token.extras.get("fam")))
    except ValueError:
        return None
    org_id = token_org(token)
    if org_id is None:
        return None
    return await active_user(db, user_id, family_id, org_id)


async def active_user(
    db: AsyncSession, user_id: UUID, family_id: UUID, org_id: UUID
) -> User | None:
    """The user, if active, signed in through a refresh family that is not revoked and still a
    member of ``org_id``; ``db`` then works for ``org_id``.

    ``db`` is bound to ``org_id`` before the look-up, so that the transaction it begins is told
    its organisation once (the claim is signed; the look-up checks the membership). When the
    user is not found, nothing else runs on ``db``: the request or socket is refused."""
    await bind_org(db, org_id)
    revoked = (
        select(RefreshToken.id)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_not(None))
        .exists()
    )
    member = (
        select(OrganisationMember.id)
        .where(OrganisationMember.user_id == user_id, OrganisationMember.org_id == org_id)
        .exists()
    )
    user = await db.scalar(select(User).where(User.id == user_id, User.is_active, ~revoked, member))
    if user is not None:
        db.info["token_family"] = family_id
    return user


async def _retrieve_user(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> User:
    async with lookup_session(connection) as db:
        user = await user_for_token(token, db)
    if user is None:
        raise NotAuthorizedException("the access token is no longer valid")
    # The request's own session is bound already; sessions the handler's services open
    # themselves (the chat's, the reply it queues) work in the token's organisation too.
    enter_org(token_org(token))
    return user


def build_auth(settings: Settings) -> OAuth2PasswordBearerAuth[User]:
    """Bearer-token authentication for every route not marked public."""
    return OAuth2PasswordBearerAuth[User](
        token_secret=settings.app.secret_key,
        token_url="/api/v1/auth/login",  # noqa: S106 - a path, not a secret
        algorithm=ALGORITHM,
        retrieve_user_handler=_retrieve_user,
        exclude_opt_key="exclude_from_auth",
        exclude=["^/schema"],
    )


async def project_role(db: AsyncSession, user_id: UUID, project_id: UUID) -> str | None:
    """The user's role in the project, or None if not a member, no such project, or a project
    of another organisation than the one ``db`` works for (the application's own check; row-level
    security makes the same one again)."""
    org_id = current_org(db)
    if org_id is None:
        return None
    role: str | None = await db.scalar(
        select(ProjectMember.role)
        .join(Project, Project.id == ProjectMember.project_id)
        .where(
            ProjectMember.project_id == project_id,
            ProjectMember.user_id == user_id,
            Project.org_id == org_id,
        )
    )
    return role


async def org_role(db: AsyncSession, user_id: UUID, org_id: UUID) -> str | None:
    """The user's role in the organisation (``org_admin`` or ``member``), or None."""
    role: str | None = await db.scalar(
        select(OrganisationMember.role).where(
            OrganisationMember.org_id == org_id, OrganisationMember.user_id == user_id
        )
    )
    return role


async def require_role(
    db: AsyncSession,
    user_id: UUID,
    project_id: UUID,
    needed: str = "viewer",
    *,
    hidden: str = "project",
) -> str:
    """The user's role in the project when it is at least ``needed``.

    ``not_found`` (naming ``hidden``) when the user is not a member: a project's existence is
    not revealed; ``forbidden`` when the role is too low. Every membership check goes through
    here: the guard, the upload form, search, usage and the chat socket.
    """
    role = await project_role(db, user_id, project_id)
    if role is None:
        raise not_found(hidden)
    if ROLE_RANK[role] < ROLE_RANK[needed]:
        raise forbidden(f"your role in this project ({role}) does not allow this")
    return role


_ACCESS = """
SELECT held.user_id, held.family, held.project_id,
       EXISTS (SELECT FROM users WHERE users.id = held.user_id AND users.is_active)
       AND NOT EXISTS (SELECT FROM refresh_tokens
                       WHERE refresh_tokens.family_id = held.family
                         AND refresh_tokens.revoked_at IS NOT NULL),
       (SELECT project_members.role FROM project_members
        WHERE project_members.user_id = held.user_id
          AND project_members.project_id = held.project_id){brief}
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS held (user_id, family, project_id)
{join}"""
_LIVE_ACCESS = _ACCESS.format(brief="", join="")
_LIVE_ACCESS_BRIEFED = _ACCESS.format(brief=", brief.*", join=brief_join("held.project_id"))


async def live_access(
    db: AsyncSession,
    holders: Collection[tuple[UUID, UUID, UUID | None]],
    *,
    brief: bool = False,
) -> tuple[set[tuple[UUID, UUID]], dict[tuple[UUID, UUID], str]]:
    """What each open socket's holder may do now, for many holders in one query.

    ``holders`` are ``(user_id, token_family, project_id or None)``. Returns the
    ``(user_id, family)`` pairs whose token is still good (active user, family not revoked:
    logout and revocation end it) and the role of each ``(user_id, project_id)`` pair that is
    still a membership. The chat socket runs it on every frame and, for all its sockets at once,
    every fraction of a second, so that removal, a role change or logout reaches open sockets.
    With ``brief`` the same statement reads the brief of each holder's project, which ``db``
    keeps for `project_brief` (a message's turn needs both).
    """
    held = list(dict.fromkeys(holders))
    rows = await (await driver(db)).fetch(
        _LIVE_ACCESS_BRIEFED if brief else _LIVE_ACCESS,
        *([holder[n] for holder in held] for n in range(3)),
    )
    valid: set[tuple[UUID, UUID]] = set()
    roles: dict[tuple[UUID, UUID], str] = {}
    for row in rows:
        user_id, family, project_id, good, member = row[:5]
        if brief and project_id is not None:
            keep_brief(db, project_id, row)
        if good:
            valid.add((user_id, family))
        if member is not None:
            roles[(user_id, project_id)] = member
    return valid, roles


async def _project_id(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> UUID | None:
    params = connection.path_params
    if "project_id" in params:
        return UUID(str(params["project_id"]))
    project_of = handler.opt.get("project_of")
    if project_of is None:
        return None
    param, model = project_of
    async with lookup_session(connection) as db:
        project_id: UUID | None = await db.scalar(
            select(model.project_id).where(model.id == params[param])
        )
    return project_id


def _is_preflight(handler: BaseRouteHandler) -> bool:
    """Whether this is the OPTIONS handler Litestar generates for every path."""
    return isinstance(handler, HTTPRouteHandler) and handler.http_methods == {"OPTIONS"}


def _is_openapi(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the request is for the OpenAPI pages Litestar mounts under its schema path."""
    config = connection.app.openapi_config
    path: str = connection.scope["path"]
    return config is not None and (path == config.path or path.startswith(f"{config.path}/"))


def _hidden(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> str:
    """What the guard's 404 names: the project, or the resource found through ``project_of``."""
    if "project_id" in connection.path_params or "project_of" not in handler.opt:
        return "project"
    param: str = handler.opt["project_of"][0]
    return param.removesuffix("_id")


async def _check_org(
    connection: ASGIConnection[Any, Any, Any, Any], user: User, needed: str
) -> None:
    """The caller is a member (``needed`` ``member``) or ``org_admin`` of the path's organisation,
    or a server administrator; its id goes in ``connection.state.org_id``."""
    org_id = UUID(str(connection.path_params["org_id"]))
    if user.role == "admin":
        connection.state.org_id = org_id
        return
    async with lookup_session(connection) as db:
        role = await org_role(db, user.id, org_id)
    if role is None:
        raise not_found("organisation")
    if needed == "admin" and role != "org_admin":
        raise forbidden("organisation administrators only")
    connection.state.org_id = org_id


async def access_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Enforce the handler's ``opt["access"]``; see the module docstring."""
    access = handler.opt.get("access")
    if access == "public":
        return
    if access is None and (_is_preflight(handler) or _is_openapi(connection)):
        return  # Litestar's own preflight answer and OpenAPI pages, both public by nature
    user: User | None = connection.scope.get("user")
    if user is None:  # a method the auth middleware skips (OPTIONS) on a non-public route
        raise unauthorized()
    if access == "user":
        return
    if access == "admin":
        if user.role != "admin":
            raise forbidden("administrators only")
        return
    if isinstance(access, str) and access.startswith("org:"):
        await _check_org(connection, user, access.removeprefix("org:"))
        return
    if isinstance(access, str) and access.startswith("project:"):
        needed = access.removeprefix("project:")
        project_id = await _project_id(connection, handler)
        if project_id is None:
            raise not_found(_hidden(connection, handler))
        async with lookup_session(connection) as db:
            role = await require_role(
                db, user.id, project_id, needed, hidden=_hidden(connection, handler)
            )
        connection.state.project_role = role
        connection.state.project_id = project_id
        return
    raise forbidden("this route declares no access rule")
