"""Chat: the ``/ws/chat`` WebSocket protocol, the REST/SSE alternative, replies (one at a time
per session, owned by the server, fanned out over channels), long memory, and the planner seam
the phase workflow plugs into. See docs/chat.md and ``/asyncapi.json``."""

from __future__ import annotations

from ._replies import Replies, ReplyJob
from ._service import ChatService
from ._socket import chat_socket
from .asyncapi import asyncapi_document, asyncapi_json
from .controllers import ChatController
from .planner import Commands, MemoryPlanner, Planner, ReplyPlan, Turn, settle_phase
from .schemas import ClientFrame

__all__ = [
    "ChatController",
    "ChatService",
    "ClientFrame",
    "Commands",
    "MemoryPlanner",
    "Planner",
    "Replies",
    "ReplyJob",
    "ReplyPlan",
    "Turn",
    "asyncapi_document",
    "asyncapi_json",
    "chat_socket",
    "settle_phase",
]
