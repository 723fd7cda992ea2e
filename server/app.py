"""The application factory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.datastructures import State

from server.access import access_guard, build_auth
from server.accounts.controllers import AuthController, UserAdminController
from server.accounts.tickets import MemoryTickets, create_ws_ticket
from server.admin.controllers import AuditController
from server.ai import (
    ConfigController,
    ProfileController,
    UsageController,
    ai_state,
    start_config_watch,
    stop_config_watch,
)
from server.audit import audit_and_commit
from server.chat import ChatController, asyncapi_json, chat_socket, start_chat, stop_chat
from server.db import database_url, sqlalchemy_config
from server.documents.controllers import DocumentController, SearchController
from server.errors import exception_handlers
from server.events import PluginPublisher, channels_plugin
from server.exports.controllers import ExportController
from server.limits import Throttle
from server.observability import configure_logging, request_id_middleware
from server.openapi import complete_openapi, openapi_config
from server.phases import PhaseController, install_planner, phases_state
from server.projects.controllers import InvitationController, ProjectController
from server.settings import get_settings
from server.system.controllers import SystemController
from server.web import cors_config, web_routes
from tasks.lifecycle import start_queue, stop_queue

if TYPE_CHECKING:
    from server.settings import Settings

API_VERSION = "0.1.0"


async def _connect_redis(app: Litestar) -> None:
    url = app.state.settings.redis.url
    if url is not None:
        from redis.asyncio import Redis  # noqa: PLC0415

        app.state.redis = Redis.from_url(url)
        app.state.throttle = Throttle(app.state.redis)


async def _close_redis(app: Litestar) -> None:
    if app.state.redis is not None:
        await app.state.redis.aclose()


def create_app(settings: Settings | None = None, db_url: str | None = None) -> Litestar:
    """Build the app; ``db_url`` defaults to ``DATABASE_URL`` or the embedded PostgreSQL."""
    settings = settings or get_settings()
    configure_logging(settings.app.debug)
    alchemy = sqlalchemy_config(db_url or database_url(settings), settings.db.pool_size)
    alchemy.before_send_handler = audit_and_commit(alchemy.session_scope_key)
    auth = build_auth(settings)
    channels = channels_plugin(settings.redis.url)
    state: dict[str, Any] = {
        "settings": settings,
        "alchemy": alchemy,
        "throttle": Throttle(),
        "redis": None,
        "status_checks": {},
        **ai_state(settings),
        "channels": channels,
        "publisher": PluginPublisher(channels),
        "ws_tickets": MemoryTickets(),
    }
    state.update(phases_state(state["config_store"]))
    app = Litestar(
        logging_config=None,  # structlog owns logging (server.observability)
        route_handlers=[
            SystemController,
            AuthController,
            UserAdminController,
            ProjectController,
            PhaseController,
            InvitationController,
            AuditController,
            ExportController,
            ProfileController,
            ConfigController,
            UsageController,
            DocumentController,
            SearchController,
            ChatController,
            chat_socket,
            asyncapi_json,
            create_ws_ticket,
            *web_routes(),
        ],
        plugins=[SQLAlchemyPlugin(config=alchemy), channels],
        guards=[access_guard],
        middleware=[request_id_middleware],
        cors_config=cors_config(settings.app.cors_origins),
        exception_handlers=exception_handlers,
        state=State(state),
        on_startup=[start_config_watch, _connect_redis, start_queue, start_chat, install_planner],
        on_shutdown=[stop_chat, stop_queue, stop_config_watch, _close_redis],
        openapi_config=openapi_config(API_VERSION),
        on_app_init=[auth.on_app_init],
        debug=settings.app.debug,
    )
    complete_openapi(app)
    return app
