"""``/api/v1/profiles``, ``/api/v1/config`` (admins) and ``/api/v1/usage``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, put
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from providers import ConfigError
from server import audit
from server.access import ADMIN, USER, org_role, require_role
from server.db.models import User
from server.db.tenancy import current_org
from server.errors import DomainError, forbidden
from server.orgs.budget import budget_status

from .config import ConfigStore, ConfigWriteError
from .redact import redact
from .schemas import ActiveProfile, GroupBy, LoadedConfig, ProfileInfo, UsageQuery, UsageReport
from .services import profiles_of, usage_report


class ProfileController(Controller):
    """AI profiles of config.json and the active one."""

    path = "/api/v1/profiles"
    tags = ["providers"]

    @get("/", opt=ADMIN, operation_id="list_profiles")
    async def list_profiles(self, config_store: NamedDependency[ConfigStore]) -> list[ProfileInfo]:
        """Every profile with its chain, which providers can be called and why not."""
        return profiles_of(config_store)

    @put("/active", opt=ADMIN, operation_id="set_active_profile")
    async def set_active(
        self,
        request: Request[Any, Any, Any],
        config_store: NamedDependency[ConfigStore],
        data: JSONBody[ActiveProfile],
    ) -> ProfileInfo:
        """Switch the active profile; config.json is rewritten so every instance follows."""
        store = config_store
        try:
            await store.set_active_profile(data.name)
        except ConfigError as exc:
            raise DomainError("invalid", str(exc)) from None
        except ConfigWriteError as exc:
            raise DomainError("config_not_writable", str(exc)) from None
        audit.note(request, "profile", data.name)
        return next(p for p in profiles_of(store) if p.active)


class ConfigController(Controller):
    """config.json as loaded."""

    path = "/api/v1/config"
    tags = ["providers"]

    @get("/", opt=ADMIN, operation_id="get_config")
    async def get_config(self, config_store: NamedDependency[ConfigStore]) -> LoadedConfig:
        """The config in force with secrets redacted, and the error of the last rejected file."""
        store = config_store
        return LoadedConfig(
            path=str(store.path),
            loaded_at=store.loaded_at,
            active_profile=store.config.active_profile,
            config=redact(dict(store.raw)),
            last_error=store.last_error,
            last_error_at=store.last_error_at,
        )


class UsageController(Controller):
    """Tokens, cost and latency of provider calls."""

    path = "/api/v1/usage"
    tags = ["providers"]

    @get("/", opt=USER, operation_id="get_usage")
    async def get_usage(
        self,
        *,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        config_store: NamedDependency[ConfigStore],
        group_by: FromQuery[GroupBy] = "day",
        start: Annotated[datetime | None, QueryParameter(name="from")] = None,
        end: Annotated[datetime | None, QueryParameter(name="to")] = None,
        project_id: FromQuery[UUID | None] = None,
        user_id: FromQuery[UUID | None] = None,
    ) -> UsageReport:
        r"""Usage grouped by user, project, provider, model or UTC day; ``from`` inclusive,
        ``to`` exclusive.

        Usage is the active organisation's (the access token's). Server administrators and
        the organisation's ``org_admin``\ s see everyone's in it, with ``budget``: the month's
        spend against the organisation's budgets. Anyone else sees only their own, and filters
        by a project only when they are a member of it (404 otherwise).
        Calls this instance made up to now are written first, so a report never lags what the
        caller just did here.
        """
        await config_store.meter.flush(db_session)  # in this request's connection
        user = request.user
        org_id = current_org(db_session)
        admin = user.role == "admin" or (
            org_id is not None and await org_role(db_session, user.id, org_id) == "org_admin"
        )
        if not admin:
            if user_id is not None and user_id != user.id:
                raise forbidden("only administrators see other users' usage")
            user_id = user.id
            if project_id is not None:
                await require_role(db_session, user.id, project_id)
        query = UsageQuery(
            group_by=group_by, start=start, end=end, user_id=user_id, project_id=project_id
        )
        report = await usage_report(db_session, query)
        if admin and org_id is not None:
            report.budget = await budget_status(db_session, org_id)
        return report
