"""Database models, one per module; Alembic migrations live in ``server/db/migrations``."""

from advanced_alchemy.base import UUIDv7AuditBase as Base

from ._audit import AuditEntry
from ._chat import ChatMessage, ChatSession
from ._document import Chunk, Document
from ._export import Export
from ._feedback import MessageFeedback
from ._invitation import Invitation
from ._job import Job
from ._organisation import ORG_ROLES, Organisation, OrganisationMember, OrgRole
from ._phase import Phase, PhaseVersion
from ._project import ROLE_RANK, MemberRole, Project, ProjectMember
from ._refresh_token import RefreshToken
from ._reply import ChatTurn
from ._usage import UsageEvent
from ._user import User, UserRole

__all__ = (
    "ORG_ROLES",
    "ROLE_RANK",
    "AuditEntry",
    "Base",
    "ChatMessage",
    "ChatSession",
    "ChatTurn",
    "Chunk",
    "Document",
    "Export",
    "Invitation",
    "Job",
    "MemberRole",
    "MessageFeedback",
    "OrgRole",
    "Organisation",
    "OrganisationMember",
    "Phase",
    "PhaseVersion",
    "Project",
    "ProjectMember",
    "RefreshToken",
    "UsageEvent",
    "User",
    "UserRole",
)
