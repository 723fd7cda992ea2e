"""The phase engine: workflow templates from config.json, a project's phases with their answers
and versions, the stale cascade, drafting context, the REST endpoints, and the chat planner that
walks a conversation through the phases."""

from __future__ import annotations

from .cascade import dependents
from .context import DEFAULT_BUDGET, Reader, chat_request, reconstruct, with_feedback
from .controllers import PhaseController
from .drafting import announce, draft, store_draft, view
from .flow import Engine, PhaseFlow
from .planner import PhaseCommands, PhasePlanner
from .services import PhaseService, WriteResult
from .summary import summarise
from .templates import (
    PhaseTemplate,
    Workflow,
    WorkflowCatalog,
    order_by_dependencies,
    parse_workflows,
    validate_workflows,
    workflow_catalog,
)

__all__ = [
    "DEFAULT_BUDGET",
    "Engine",
    "PhaseCommands",
    "PhaseController",
    "PhaseFlow",
    "PhasePlanner",
    "PhaseService",
    "PhaseTemplate",
    "Reader",
    "Workflow",
    "WorkflowCatalog",
    "WriteResult",
    "announce",
    "chat_request",
    "dependents",
    "draft",
    "order_by_dependencies",
    "parse_workflows",
    "reconstruct",
    "store_draft",
    "summarise",
    "validate_workflows",
    "view",
    "with_feedback",
    "workflow_catalog",
]
