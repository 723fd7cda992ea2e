"""Users and refresh-token families."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import select, update

from server.db.models import RefreshToken, User
from server.db.tenancy import bind_org
from server.errors import DomainError, conflict, unauthorized

from .security import digest, encode_access_token, hash_password, new_secret, verify_password

if TYPE_CHECKING:
    from server.settings import Settings

    from .password_policy import PasswordPolicy
    from .schemas import UserCreate


class UserService(SQLAlchemyAsyncRepositoryService[User]):
    """Accounts: creation with hashed passwords, and authentication."""

    class Repo(SQLAlchemyAsyncRepository[User]):
        model_type = User

    repository_type = Repo

    async def register(
        self, data: UserCreate, policy: PasswordPolicy, *, role: str = "user"
    ) -> User:
        """Create a user; an email already taken is a 409, a weak password a 422."""
        email = data.email.strip().lower()
        policy.check(data.password, [email, data.name or ""])
        if await self.exists(email=email):
            raise conflict("an account with this email already exists")
        return await self.create(
            User(email=email, name=data.name, password_hash=hash_password(data.password), role=role)
        )

    async def authenticate(self, email: str, password: str) -> User:
        """The active user with these credentials, else 401 (same answer whatever was wrong)."""
        user = await self.get_one_or_none(email=email.strip().lower())
        ok = verify_password(user.password_hash if user else None, password)
        if user is None or not ok or not user.is_active:
            raise unauthorized("wrong email or password")
        return user

    async def change_password(
        self, user: User, current: str, new: str, policy: PasswordPolicy
    ) -> User:
        """Replace the user's password after checking the current one and the policy."""
        if not verify_password(user.password_hash, current):
            raise DomainError("wrong_password", "the current password is wrong")
        policy.check(new, [user.email, user.name or "", current])
        return await self.update({"password_hash": hash_password(new)}, item_id=user.id)


class RefreshTokenService(SQLAlchemyAsyncRepositoryService[RefreshToken]):
    """Issues token pairs, rotates refresh tokens and revokes families on reuse."""

    class Repo(SQLAlchemyAsyncRepository[RefreshToken]):
        model_type = RefreshToken

    repository_type = Repo

    async def issue(
        self, user: User, org_id: UUID, settings: Settings, family_id: UUID | None = None
    ) -> tuple[str, str]:
        """A new (access token, refresh token) for ``user`` working in ``org_id``, in a new
        family unless given one; the request's session works for ``org_id`` from now on."""
        family_id = family_id or uuid4()
        raw, token_hash = new_secret()
        await bind_org(self.repository.session, org_id)
        await self.create(
            RefreshToken(
                user_id=user.id,
                family_id=family_id,
                org_id=org_id,
                token_hash=token_hash,
                expires_at=datetime.now(UTC) + timedelta(seconds=settings.auth.refresh_ttl_s),
            )
        )
        access = encode_access_token(
            user.id, family_id, org_id, settings.auth.access_ttl_s, settings.app.secret_key
        )
        return access, raw

    async def rotate(self, raw: str) -> RefreshToken:
        """Mark the presented token used and return it; reuse of a used token revokes its family.

        The ``UPDATE … WHERE used_at IS NULL`` makes two concurrent uses of one token race safely:
        only one of them gets the row back.
        """
        now = datetime.now(UTC)
        token = await self.get_one_or_none(token_hash=digest(raw))
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            raise unauthorized("the refresh token is invalid or expired")
        claimed = await self.repository.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .returning(RefreshToken.id)
        )
        if claimed.scalar_one_or_none() is None:
            await self.revoke_family(token.family_id)
            # Commit the revocation even though the response is an error.
            await self.repository.session.commit()
            raise DomainError(
                "token_reused",
                "this refresh token was already used; every session started from it is revoked",
            )
        return token

    async def revoke_family(self, family_id: UUID) -> None:
        """Revoke every token of a family (logout, or reuse detected)."""
        await self.repository.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )

    async def revoke_other_families(self, user_id: UUID, keep: UUID | None) -> None:
        """Revoke every login session of a user except ``keep`` (after a password change)."""
        query = update(RefreshToken).where(
            RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
        )
        if keep is not None:
            query = query.where(RefreshToken.family_id != keep)
        await self.repository.session.execute(query.values(revoked_at=datetime.now(UTC)))

    async def family_of(self, raw: str) -> UUID | None:
        """The family of a refresh token, if it exists."""
        token = await self.get_one_or_none(token_hash=digest(raw))
        return token.family_id if token else None

    async def family_revoked(self, family_id: UUID) -> bool:
        """Whether the family was revoked (logout or reuse): its access tokens stop working."""
        row = await self.repository.session.execute(
            select(RefreshToken.id)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_not(None))
            .limit(1)
        )
        return row.first() is not None
