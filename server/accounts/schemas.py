"""Wire schemas of accounts: registration, tokens, users."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

import msgspec

if TYPE_CHECKING:
    from server.db.models import User as UserModel

Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Password = Annotated[str, msgspec.Meta(max_length=1024)]
"""Length and strength are the password policy's to judge, with a message saying what is wrong."""
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Registration."""

    email: Email
    password: Password
    name: Name | None = None


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    """Change one's own password."""

    current_password: Annotated[str, msgspec.Meta(max_length=1024)]
    new_password: Password


class LoginRequest(msgspec.Struct):
    """Login with JSON; the OAuth2 password form sends ``username`` instead of ``email``."""

    email: Email
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class RefreshRequest(msgspec.Struct):
    """Exchange a refresh token for a new pair."""

    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class LogoutRequest(msgspec.Struct):
    """Logout revokes the family of the given refresh token, or of the access token used."""

    refresh_token: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class TokenPair(msgspec.Struct):
    """What login, refresh and switch-org return; ``org_id`` is the organisation the access
    token works in."""

    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    org_id: UUID | None = None


class SwitchOrg(msgspec.Struct, forbid_unknown_fields=True):
    """The organisation to work in next."""

    org_id: UUID


class User(msgspec.Struct):
    """A user as clients see it."""

    id: UUID
    email: str
    name: str | None
    role: str
    is_active: bool
    created_at: datetime


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """What an admin may change about a user."""

    name: Name | None = None
    role: Literal["admin", "user"] | None = None
    is_active: bool | None = None


def user_out(user: UserModel) -> User:
    """The wire form of a user row."""
    return User(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        is_active=user.is_active,
        created_at=user.created_at,
    )
