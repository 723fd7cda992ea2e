"""The phase workflow: templates from config.json, a project's phases with their answers and
versions, the status machine, the use cases every front door calls (REST, WebSocket frames,
slash commands), the stale cascade, drafting context, and the chat planner that walks a
conversation through the phases."""

from __future__ import annotations

from .cascade import dependents
from .commands import DraftOrder, PhaseCommands, PhaseEnvironment
from .context import DEFAULT_BUDGET, Reader, chat_request, reconstruct, with_feedback
from .controllers import PhaseController
from .drafting import announce, run_draft, store_draft, view
from .flow import PhaseFlow
from .planner import PhaseFrames, PhasePlanner
from .services import PhaseService, WriteResult
from .status import (
    TRANSITIONS,
    NoDraftError,
    PhaseEvent,
    PhaseStatus,
    StatusConflictError,
    advance,
)
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
    "TRANSITIONS",
    "DraftOrder",
    "NoDraftError",
    "PhaseCommands",
    "PhaseController",
    "PhaseEnvironment",
    "PhaseEvent",
    "PhaseFlow",
    "PhaseFrames",
    "PhasePlanner",
    "PhaseService",
    "PhaseStatus",
    "PhaseTemplate",
    "Reader",
    "StatusConflictError",
    "Workflow",
    "WorkflowCatalog",
    "WriteResult",
    "advance",
    "announce",
    "chat_request",
    "dependents",
    "order_by_dependencies",
    "parse_workflows",
    "reconstruct",
    "run_draft",
    "store_draft",
    "summarise",
    "validate_workflows",
    "view",
    "with_feedback",
    "workflow_catalog",
]
