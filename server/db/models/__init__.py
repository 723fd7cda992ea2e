"""Database models, one per module; Alembic migrations live in ``server/db/migrations``."""

from advanced_alchemy.base import UUIDv7AuditBase as Base

from ._audit import AuditEntry
from ._invitation import Invitation
from ._project import ROLE_RANK, MemberRole, Project, ProjectMember
from ._refresh_token import RefreshToken
from ._user import User, UserRole

__all__ = (
    "ROLE_RANK",
    "AuditEntry",
    "Base",
    "Invitation",
    "MemberRole",
    "Project",
    "ProjectMember",
    "RefreshToken",
    "User",
    "UserRole",
)
