"""The application factory: builds every service once and wires them by dependency injection.

``create_app`` composes the app from typed parts: the infrastructure (:class:`Runtime`), the
config store, the workflow catalogue, the phase environment and the chat, each built once here in
the order their constructors need (no start-up hook reads what another one left behind). One
start-up hook starts what runs in the background (config watch, queue, replies) and one
shutdown hook stops it in reverse order. Handlers receive the parts by name
(:data:`DEPENDENCY_TYPES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from server.access import access_guard, build_auth
from server.accounts.controllers import AuthController, UserAdminController
from server.accounts.tickets import create_ws_ticket
from server.admin.controllers import AuditController, DiagnosticsController
from server.admin.presence import Presence
from server.ai import (
    ConfigController,
    ConfigStore,
    ProfileController,
    UsageController,
    providers_check,
    validate_prompts,
)
from server.audit import audit_and_commit
from server.chat import (
    ChatController,
    ChatService,
    MemoryPlanner,
    Replies,
    asyncapi_json,
    chat_socket,
)
from server.db import database_url, sqlalchemy_config
from server.documents import jobs as document_jobs
from server.documents.controllers import DocumentController, SearchController
from server.errors import exception_handlers
from server.events import PluginPublisher, channels_plugin
from server.exports import jobs as export_jobs
from server.exports.controllers import ExportController
from server.feedback.controllers import FeedbackAdminController, MessageFeedbackController
from server.limits import Throttle
from server.observability import configure_logging, request_id_middleware
from server.openapi import complete_openapi, openapi_config
from server.orgs.controllers import OrganisationController
from server.phases import (
    PhaseController,
    PhaseEnvironment,
    PhaseFrames,
    PhasePlanner,
    WorkflowCatalog,
    workflow_catalog,
)
from server.phases import jobs as phase_jobs
from server.projects.controllers import InvitationController, ProjectController
from server.queue import Queue, start_queue, stop_queue
from server.runtime import RUNTIME_KEY, Runtime
from server.settings import Settings, get_settings
from server.system.controllers import SystemController
from server.web import cors_config, web_routes

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar.channels import ChannelsPlugin

API_VERSION = "0.1.0"
JOB_MODULES = (document_jobs, export_jobs, phase_jobs)
"""The domain modules whose job handlers register themselves on import: every job kind the
server queues and every worker (``assistant worker``, ``dramatiq tasks``) runs."""

DEPENDENCY_TYPES: dict[str, type[Any]] = {
    "runtime": Runtime,
    "config_store": ConfigStore,
    "workflows": WorkflowCatalog,
    "chat": ChatService,
    "phase_env": PhaseEnvironment,
}
"""What handlers may ask for by name, and its type."""


@dataclass
class AppServices:
    """Everything the app is made of, built once by :func:`create_app`."""

    runtime: Runtime
    config_store: ConfigStore
    workflows: WorkflowCatalog
    phase_env: PhaseEnvironment
    chat: ChatService
    presence: Presence
    """This instance's heartbeat for diagnostics (with Redis)."""
    queue: Queue | None = None
    """The job queue, once the app has started."""

    def provided(self) -> dict[str, Any]:
        """The values behind :data:`DEPENDENCY_TYPES`."""
        return {
            "runtime": self.runtime,
            "config_store": self.config_store,
            "workflows": self.workflows,
            "chat": self.chat,
            "phase_env": self.phase_env,
        }

    async def start(self) -> None:
        """Start the background parts, in order: usage meter, config watch, queue, replies.

        It runs as the app's one start-up hook, after the plugins' lifespans (database,
        channels) are up.
        """
        self.runtime.status_checks["providers"] = providers_check(self.config_store)
        self.runtime.meter.start()
        await self.config_store.start()
        self.queue = await start_queue(self.runtime)
        await self.chat.replies.start()
        self.presence.start()

    async def stop(self) -> None:
        """Stop what :meth:`start` started, in reverse order, then close Redis."""
        await self.presence.stop()
        await self.chat.watch.close()
        await self.chat.replies.close()
        if self.queue is not None:
            await stop_queue(self.queue)
        await self.runtime.meter.close()
        await self.config_store.stop()
        if self.runtime.redis is not None:
            await self.runtime.redis.aclose()


def services_of(app: Litestar) -> AppServices:
    """The services of an app made by :func:`create_app` (for tests and tools)."""
    services: AppServices = app.state["services"]
    return services


def build_services(settings: Settings, alchemy: SQLAlchemyAsyncConfig) -> AppServices:
    """Every service of the app, each built once from the ones it needs."""
    channels: ChannelsPlugin = channels_plugin(settings.redis.url)
    redis = None
    if settings.redis.url is not None:
        from redis.asyncio import Redis  # noqa: PLC0415 - only with REDIS_URL

        redis = Redis.from_url(settings.redis.url)
    runtime = Runtime(
        settings=settings,
        alchemy=alchemy,
        channels=channels,
        publisher=PluginPublisher(channels),
        redis=redis,
        throttle=Throttle(redis),
    )
    config_store = ConfigStore(
        settings.app.config_path, meter=runtime.meter, validators=[validate_prompts]
    )
    workflows = workflow_catalog(config_store)

    phase_env = PhaseEnvironment(workflows, config_store.embedder, runtime.publisher, config_store)
    replies = Replies(
        alchemy=alchemy,
        channels=channels,
        publisher=runtime.publisher,
        config_store=config_store,
        lease_s=settings.chat.reply_lease_s,
    )
    chat = ChatService(
        settings.chat,
        alchemy=alchemy,
        channels=channels,
        publisher=runtime.publisher,
        replies=replies,
        throttle=runtime.throttle,
        config_store=config_store,
        planner=PhasePlanner(
            MemoryPlanner(settings.chat, config_store.embedder, lambda: config_store.raw),
            phase_env,
        ),
        commands=PhaseFrames(phase_env),
    )
    return AppServices(runtime, config_store, workflows, phase_env, chat, Presence(redis, chat))


def _constant(value: Any) -> Callable[[], Any]:
    def provide() -> Any:
        return value

    return provide


def create_app(settings: Settings | None = None, db_url: str | None = None) -> Litestar:
    """Build the app; ``db_url`` defaults to ``DATABASE_URL`` or the embedded PostgreSQL."""
    settings = settings or get_settings()
    configure_logging(settings.app.debug)
    alchemy = sqlalchemy_config(db_url or database_url(settings), settings.db.pool_size)
    alchemy.before_send_handler = audit_and_commit(alchemy.session_scope_key)
    auth = build_auth(settings)
    services = build_services(settings, alchemy)
    provided = services.provided()
    app = Litestar(
        logging_config=None,  # structlog owns logging (server.observability)
        route_handlers=[
            SystemController,
            AuthController,
            UserAdminController,
            ProjectController,
            PhaseController,
            InvitationController,
            OrganisationController,
            AuditController,
            DiagnosticsController,
            ExportController,
            ProfileController,
            ConfigController,
            UsageController,
            DocumentController,
            SearchController,
            ChatController,
            MessageFeedbackController,
            FeedbackAdminController,
            chat_socket,
            asyncapi_json,
            create_ws_ticket,
            *web_routes(),
        ],
        dependencies={
            name: Provide(_constant(provided[name]), sync_to_thread=False)
            for name in DEPENDENCY_TYPES
        },
        signature_types=list(DEPENDENCY_TYPES.values()),
        plugins=[SQLAlchemyPlugin(config=alchemy), services.runtime.channels],
        guards=[access_guard],
        middleware=[request_id_middleware],
        cors_config=cors_config(settings.app.cors_origins),
        exception_handlers=exception_handlers,
        state=State({RUNTIME_KEY: services.runtime, "services": services}),
        on_startup=[services.start],
        on_shutdown=[services.stop],
        openapi_config=openapi_config(API_VERSION),
        on_app_init=[auth.on_app_init],
        debug=settings.app.debug,
    )
    complete_openapi(app)
    return app


__all__ = ("AppServices", "build_services", "create_app", "services_of")
