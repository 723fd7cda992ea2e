"""``/api/v1/auth`` and the admin's ``/api/v1/users``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import msgspec
from advanced_alchemy.extensions.litestar.providers import create_service_provider
from advanced_alchemy.filters import LimitOffset, OrderBy
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter

from server import audit
from server.access import ADMIN, PUBLIC, USER
from server.db.models import User as UserModel
from server.db.tenancy import bind_org, current_org
from server.errors import DomainError, conflict, invalid, not_found, rate_limited, unauthorized
from server.orgs.services import OrganisationService
from server.runtime import runtime_of

from .password_policy import PasswordPolicy
from .schemas import (
    LoginRequest,
    LogoutRequest,
    PasswordChange,
    RefreshRequest,
    SwitchOrg,
    TokenPair,
    User,
    UserCreate,
    UserUpdate,
    user_out,
)
from .services import RefreshTokenService, UserService

if TYPE_CHECKING:
    from server.limits import Throttle
    from server.settings import Settings

DEPENDENCIES = {
    "users": Provide(create_service_provider(UserService)),
    "refresh_tokens": Provide(create_service_provider(RefreshTokenService)),
    "orgs": Provide(create_service_provider(OrganisationService)),
}


async def _throttle(request: Request[Any, Any, Any], action: str, email: str) -> None:
    settings: Settings = runtime_of(request.app).settings
    throttle: Throttle = runtime_of(request.app).throttle
    ip = request.client.host if request.client else "unknown"
    for key, limit in (
        (f"{action}:ip:{ip}", settings.auth.login_per_ip_per_min),
        (f"{action}:account:{email.strip().lower()}", settings.auth.login_per_account_per_min),
    ):
        retry_after = await throttle.hit(key, limit, 60)
        if retry_after is not None:
            raise rate_limited(retry_after)


async def _login_form(request: Request[Any, Any, Any]) -> LoginRequest:
    """JSON ``{email, password}`` or the OAuth2 password form (``username``, ``password``)."""
    try:
        if request.content_type[0] == "application/x-www-form-urlencoded":
            form = await request.form()
            raw = {
                "email": form.get("username") or form.get("email"),
                "password": form.get("password"),
            }
            return msgspec.convert(raw, LoginRequest)
        return msgspec.json.decode(await request.body(), type=LoginRequest)
    except msgspec.ValidationError as exc:
        raise invalid(f"invalid login request: {exc}") from None
    except msgspec.DecodeError:
        raise DomainError("bad_request", "the request body is not valid JSON") from None


class AuthController(Controller):
    """Registration, login, token refresh and logout."""

    path = "/api/v1/auth"
    tags = ["auth"]
    dependencies = DEPENDENCIES

    @post("/register", opt=PUBLIC, operation_id="register", status_code=201)
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[UserCreate],
        users: NamedDependency[UserService],
        orgs: NamedDependency[OrganisationService],
    ) -> User:
        """Create an account, with a personal organisation administered by it."""
        await _throttle(request, "register", data.email)
        settings: Settings = runtime_of(request.app).settings
        user = await users.register(data, PasswordPolicy.from_settings(settings.auth))
        org = await orgs.create_personal(user)
        await bind_org(orgs.db, org.id)
        audit.note(request, "user", user.id, actor_id=user.id)
        return user_out(user)

    @post("/login", opt=PUBLIC, operation_id="login", status_code=200)
    async def login(
        self,
        request: Request[Any, Any, Any],
        users: NamedDependency[UserService],
        refresh_tokens: NamedDependency[RefreshTokenService],
        orgs: NamedDependency[OrganisationService],
    ) -> TokenPair:
        """Exchange credentials for an access and a refresh token, working in the user's first
        organisation (``POST /auth/switch-org`` changes it)."""
        credentials = await _login_form(request)
        await _throttle(request, "login", credentials.email)
        user = await users.authenticate(credentials.email, credentials.password)
        settings: Settings = runtime_of(request.app).settings
        org_id = await orgs.default_for(user)
        access, refresh = await refresh_tokens.issue(user, org_id, settings)
        audit.note(request, "user", user.id, actor_id=user.id)
        return TokenPair(access, refresh, settings.auth.access_ttl_s, org_id=org_id)

    @post("/refresh", opt=PUBLIC, operation_id="refresh_token", status_code=200)
    async def refresh(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RefreshRequest],
        users: NamedDependency[UserService],
        refresh_tokens: NamedDependency[RefreshTokenService],
        orgs: NamedDependency[OrganisationService],
    ) -> TokenPair:
        """Rotate a refresh token: the old one stops working, a reused one revokes its family.
        The new pair works in the same organisation while the user is still a member of it."""
        token = await refresh_tokens.rotate(data.refresh_token)
        user = await users.get(token.user_id)
        if not user.is_active:
            await refresh_tokens.revoke_family(token.family_id)
            raise unauthorized("this account is disabled")
        settings: Settings = runtime_of(request.app).settings
        org_id = token.org_id
        if org_id is None or await orgs.role_of(user.id, org_id) is None:
            org_id = await orgs.default_for(user)
        access, refresh = await refresh_tokens.issue(user, org_id, settings, token.family_id)
        audit.note(request, "user", user.id, actor_id=user.id)
        return TokenPair(access, refresh, settings.auth.access_ttl_s, org_id=org_id)

    @post("/switch-org", opt=USER, operation_id="switch_org", status_code=200)
    async def switch_org(
        self,
        request: Request[UserModel, Any, Any],
        data: JSONBody[SwitchOrg],
        refresh_tokens: NamedDependency[RefreshTokenService],
        orgs: NamedDependency[OrganisationService],
    ) -> TokenPair:
        """A new token pair working in another organisation the caller belongs to, in the
        same login session (logout ends both); 404 for an organisation they are not in."""
        if await orgs.role_of(request.user.id, data.org_id) is None:
            raise not_found("organisation")
        family = refresh_tokens.repository.session.info.get("token_family")
        if family is None:
            raise unauthorized()
        settings: Settings = runtime_of(request.app).settings
        previous = current_org(orgs.db)
        access, refresh = await refresh_tokens.issue(request.user, data.org_id, settings, family)
        audit.note(request, "organisation", data.org_id, previous=str(previous))
        return TokenPair(access, refresh, settings.auth.access_ttl_s, org_id=data.org_id)

    @post("/logout", opt=USER, operation_id="logout", status_code=204)
    async def logout(
        self,
        request: Request[Any, Any, Any],
        refresh_tokens: NamedDependency[RefreshTokenService],
        data: JSONBody[LogoutRequest | None] = None,
    ) -> None:
        """Revoke the session: its refresh tokens and the access tokens issued from them."""
        family = None
        if data is not None and data.refresh_token:
            family = await refresh_tokens.family_of(data.refresh_token)
        family = family or refresh_tokens.repository.session.info.get("token_family")
        if family is not None:
            await refresh_tokens.revoke_family(family)
        audit.note(request, "user", request.user.id)

    @post("/password", opt=USER, operation_id="change_password", status_code=204)
    async def change_password(
        self,
        request: Request[UserModel, Any, Any],
        data: JSONBody[PasswordChange],
        users: NamedDependency[UserService],
        refresh_tokens: NamedDependency[RefreshTokenService],
    ) -> None:
        """Change one's own password; every other login session of the account is signed out."""
        await _throttle(request, "password", request.user.email)
        settings: Settings = runtime_of(request.app).settings
        policy = PasswordPolicy.from_settings(settings.auth)
        await users.change_password(request.user, data.current_password, data.new_password, policy)
        current_family = refresh_tokens.repository.session.info.get("token_family")
        await refresh_tokens.revoke_other_families(request.user.id, current_family)
        audit.note(request, "user", request.user.id)

    @get("/me", opt=USER, operation_id="me")
    async def me(self, request: Request[UserModel, Any, Any]) -> User:
        """The signed-in user."""
        return user_out(request.user)


class UserAdminController(Controller):
    """Administrators manage accounts."""

    path = "/api/v1/users"
    tags = ["users"]
    dependencies = DEPENDENCIES

    @get("/", opt=ADMIN, operation_id="list_users")
    async def list_users(
        self,
        users: NamedDependency[UserService],
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> list[User]:
        """Every account, oldest first."""
        rows = await users.list(OrderBy("created_at", "asc"), LimitOffset(limit, offset))
        return [user_out(u) for u in rows]

    @get("/{user_id:uuid}", opt=ADMIN, operation_id="get_user")
    async def get_user(self, user_id: FromPath[UUID], users: NamedDependency[UserService]) -> User:
        """One account."""
        return user_out(await users.get(user_id))

    @patch("/{user_id:uuid}", opt=ADMIN, operation_id="update_user")
    async def update_user(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[UserUpdate],
        users: NamedDependency[UserService],
    ) -> User:
        """Rename, change role, or disable an account."""
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        await users.get(user_id)
        return user_out(await users.update(changes, item_id=user_id))

    @delete("/{user_id:uuid}", opt=ADMIN, operation_id="delete_user", status_code=204)
    async def delete_user(
        self,
        request: Request[UserModel, Any, Any],
        user_id: FromPath[UUID],
        users: NamedDependency[UserService],
    ) -> None:
        """Delete an account (not your own)."""
        if user_id == request.user.id:
            raise conflict("you cannot delete your own account")
        await users.delete(user_id)
