"""Settings read from environment variables, validated once at start-up.

Each group is a plain dataclass built by :func:`get_settings`; a bad value raises
:class:`SettingsError` whose message names the variable, and the CLI prints that one line.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from ingest import Limits
from render import PAPER_SIZES, PaperSize

MIB = 1024 * 1024


class SettingsError(Exception):
    """A setting has a value the server cannot start with."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise SettingsError(f"{name}={value} must be between {minimum}{upper}")
    return value


def _url(name: str, schemes: tuple[str, ...]) -> str | None:
    raw = _env(name)
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in schemes:
        raise SettingsError(
            f"{name} must start with one of {', '.join(s + '://' for s in schemes)}"
        )
    return raw


@dataclass(frozen=True)
class AppSettings:
    """Where the server listens and keeps its files."""

    host: str
    port: int
    data_dir: Path
    config_path: Path
    secret_key: str
    debug: bool
    cors_origins: tuple[str, ...] = ()
    """Browser origins (``scheme://host[:port]``) allowed to call REST and open the WebSocket;
    empty: the server's own origin only."""


POOL_PER_CORE = 4
"""Database connections a process keeps by default, per CPU core of its machine (at most
`POOL_MAX_DEFAULT`). Each busy connection is a PostgreSQL backend competing for cores with the
server: past a few per core, more of them only add context switches and cold caches, and the
pool's queue (a turn's first transaction ahead of other work) orders the waiting better than
the CPU's scheduler does. Measured in docs/benchmarks.md ("The pool's size")."""
POOL_MAX_DEFAULT = 40
"""The default pool's ceiling on a machine with many cores: what a process kept before, well
inside PostgreSQL's own default of 100 connections."""


@dataclass(frozen=True)
class DatabaseSettings:
    """``url`` is None for the embedded PostgreSQL kept under ``DATA_DIR/postgres``;
    ``pool_size`` connections at most per process, each kept open once opened."""

    url: str | None
    pool_size: int

    @property
    def embedded(self) -> bool:
        """Whether the server starts its own PostgreSQL through pgserver."""
        return self.url is None


@dataclass(frozen=True)
class RedisSettings:
    """``url`` is None in the embedded default: memory channels and stores, in-process worker."""

    url: str | None


@dataclass(frozen=True)
class AuthSettings:
    """Token lifetimes and the limits on login and register attempts."""

    access_ttl_s: int
    refresh_ttl_s: int
    invitation_ttl_s: int
    login_per_ip_per_min: int
    login_per_account_per_min: int
    password_min_length: int = 10
    password_min_score: int = 3
    """The zxcvbn score (0-4) a new password needs."""
    ws_ticket_ttl_s: int = 30
    """How long a WebSocket ticket (``POST /api/v1/auth/ws-ticket``) may wait to be used."""


@dataclass(frozen=True)
class QueueSettings:
    """The task queue: worker threads, and how lost jobs are found again."""

    worker_threads: int = 4
    sweep_interval_s: int = 10
    """How often queued jobs whose message may be lost and expired running jobs are re-sent."""
    lease_s: int = 20
    """How long a running job's lease lasts; its worker renews it every third of that, so a job
    whose worker died is taken over ``lease_s`` + ``sweep_interval_s`` seconds later."""
    queued_grace_s: int = 60
    """How long a queued job may wait for its message before it is sent again."""
    namespace: str = "ua-queue"
    """Key prefix of the broker's queues in Redis."""


@dataclass(frozen=True)
class ExportSettings:
    """How long export files are kept, how long one rendering attempt may take, and the paper
    size of PDF and DOCX exports that do not ask for one."""

    ttl_s: int = 7 * 24 * 3600
    job_timeout_s: int = 600
    paper_size: PaperSize = "A4"


@dataclass(frozen=True)
class ChatSettings:
    """Limits and memory budget of the chat; defaults suit one widget per user."""

    max_message_bytes: int = 32 * 1024
    """``CHAT_MAX_MESSAGE_BYTES``: a larger frame (or REST body) is refused as ``too_large``."""
    messages_per_minute: int = 30
    """``CHAT_MESSAGES_PER_MINUTE``: messages one user may send per minute, all sessions."""
    max_connections_per_user: int = 20
    """``CHAT_MAX_CONNECTIONS``: open WebSockets per user on one server instance."""
    idle_timeout_s: int = 300
    """``CHAT_IDLE_TIMEOUT``: a connection with no frame either way for this long is closed."""
    context_tokens: int = 6000
    """``CHAT_CONTEXT_TOKENS``: the prompt's budget in estimated tokens (a profile's
    ``max_tokens`` bounds the reply, and config.json has no context size)."""
    recent_messages: int = 20
    """``CHAT_RECENT_MESSAGES``: the recent window sent verbatim (within the budget)."""
    recall_limit: int = 4
    """``CHAT_RECALL``: older messages recalled by meaning into the prompt."""
    reply_lease_s: int = 10
    """``CHAT_REPLY_LEASE``: seconds a reply's lease lasts. The instance answering renews it
    (saving the text so far) every fifth of it; when the instance dies, another takes the turn
    over within about one and a half leases."""


@dataclass(frozen=True)
class DocumentSettings:
    """Uploads and their parsing: ``MAX_UPLOAD_MB`` (50), ``PARSE_TIMEOUT_S`` (120),
    ``PARSE_MEMORY_MB`` (2048), ``INGEST_PARSE_POOL`` (parser processes reused from document to
    document; default the CPU count, 0 = a fresh process per document) and
    ``INGEST_EMBED_SHARED`` (1: documents indexed at the same time share embedding calls)."""

    max_upload_bytes: int = 50 * MIB
    parse_timeout_s: float = 120
    parse_memory_bytes: int = 2048 * MIB
    parse_pool: int = 2
    embed_shared: bool = True

    def limits(self) -> Limits:
        """The parser limits for one document."""
        return Limits(
            max_bytes=self.max_upload_bytes,
            timeout_s=self.parse_timeout_s,
            memory_bytes=self.parse_memory_bytes,
        )


@dataclass(frozen=True)
class Settings:
    """All settings groups."""

    app: AppSettings
    db: DatabaseSettings
    redis: RedisSettings
    auth: AuthSettings
    queue: QueueSettings = field(default_factory=QueueSettings)
    exports: ExportSettings = field(default_factory=ExportSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    documents: DocumentSettings = field(default_factory=DocumentSettings)


def _origins(name: str) -> tuple[str, ...]:
    """A comma-separated list of origins, each ``scheme://host[:port]`` with no path."""
    origins: list[str] = []
    for raw in (_env(name, "") or "").split(","):
        origin = raw.strip().rstrip("/")
        if not origin:
            continue
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path:
            raise SettingsError(
                f"{name}: {origin!r} is not an origin like https://app.example.org or "
                "http://localhost:3000 (scheme, host and optional port, nothing else)"
            )
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(dict.fromkeys(origins))


def _secret_key(data_dir: Path) -> str:
    """``SECRET_KEY`` if set, else a key generated once and kept in ``DATA_DIR``."""
    key = _env("SECRET_KEY")
    if key is not None:
        if len(key) < 32:
            raise SettingsError("SECRET_KEY must be at least 32 characters")
        return key
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _paper_size(raw: str) -> PaperSize:
    """``EXPORT_PAPER_SIZE``: one of ``PAPER_SIZES``, in any case."""
    for size in PAPER_SIZES:
        if raw.lower() == size.lower():
            return size
    raise SettingsError(
        f"EXPORT_PAPER_SIZE={raw!r} is not a paper size: use {' or '.join(PAPER_SIZES)}"
    )


def load_settings() -> Settings:
    """Read and validate every setting from the environment."""
    data_dir = Path(_env("DATA_DIR", "./var") or "./var").resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"DATA_DIR={data_dir} cannot be created: {exc.strerror}") from None
    if not os.access(data_dir, os.W_OK):
        raise SettingsError(f"DATA_DIR={data_dir} is not writable")
    config_path = Path(_env("ASSISTANT_CONFIG", "./config.json") or "./config.json").resolve()
    if not config_path.is_file():
        raise SettingsError(f"ASSISTANT_CONFIG={config_path} does not exist")
    app = AppSettings(
        host=_env("HOST", "127.0.0.1") or "127.0.0.1",
        port=_int("PORT", 8000, minimum=0, maximum=65535),
        data_dir=data_dir,
        config_path=config_path,
        secret_key=_secret_key(data_dir),
        debug=(_env("DEBUG", "0") or "0").lower() in {"1", "true", "yes"},
        cors_origins=_origins("CORS_ORIGINS"),
    )
    db = DatabaseSettings(
        url=_url("DATABASE_URL", ("postgresql", "postgresql+asyncpg", "postgres")),
        pool_size=_int(
            "DATABASE_POOL_SIZE",
            min(POOL_PER_CORE * (os.cpu_count() or 1), POOL_MAX_DEFAULT),
            minimum=1,
            maximum=500,
        ),
    )
    redis = RedisSettings(url=_url("REDIS_URL", ("redis", "rediss", "unix")))
    auth = AuthSettings(
        access_ttl_s=_int("ACCESS_TOKEN_TTL", 900, minimum=10),
        refresh_ttl_s=_int("REFRESH_TOKEN_TTL", 30 * 24 * 3600, minimum=60),
        invitation_ttl_s=_int("INVITATION_TTL", 7 * 24 * 3600, minimum=60),
        login_per_ip_per_min=_int("LOGIN_RATE_PER_IP", 20, minimum=1),
        login_per_account_per_min=_int("LOGIN_RATE_PER_ACCOUNT", 10, minimum=1),
        password_min_length=_int("PASSWORD_MIN_LENGTH", 10, minimum=1, maximum=1024),
        password_min_score=_int("PASSWORD_MIN_SCORE", 3, minimum=0, maximum=4),
        ws_ticket_ttl_s=_int("WS_TICKET_TTL", 30, minimum=1, maximum=600),
    )
    queue = QueueSettings(
        worker_threads=_int("WORKER_THREADS", 4, minimum=1, maximum=256),
        sweep_interval_s=_int("QUEUE_SWEEP_INTERVAL", 10, minimum=1),
        lease_s=_int("QUEUE_LEASE", 20, minimum=3),
        queued_grace_s=_int("QUEUE_GRACE", 60, minimum=1),
        namespace=_env("QUEUE_NAMESPACE", "ua-queue") or "ua-queue",
    )
    exports = ExportSettings(
        ttl_s=_int("EXPORT_TTL", 7 * 24 * 3600, minimum=60),
        job_timeout_s=_int("EXPORT_JOB_TIMEOUT", 600, minimum=1),
        paper_size=_paper_size(_env("EXPORT_PAPER_SIZE", "A4") or "A4"),
    )
    chat = ChatSettings(
        max_message_bytes=_int("CHAT_MAX_MESSAGE_BYTES", ChatSettings.max_message_bytes, minimum=1),
        messages_per_minute=_int(
            "CHAT_MESSAGES_PER_MINUTE", ChatSettings.messages_per_minute, minimum=1
        ),
        max_connections_per_user=_int(
            "CHAT_MAX_CONNECTIONS", ChatSettings.max_connections_per_user, minimum=1
        ),
        idle_timeout_s=_int("CHAT_IDLE_TIMEOUT", ChatSettings.idle_timeout_s, minimum=1),
        context_tokens=_int("CHAT_CONTEXT_TOKENS", ChatSettings.context_tokens, minimum=256),
        recent_messages=_int("CHAT_RECENT_MESSAGES", ChatSettings.recent_messages, minimum=1),
        recall_limit=_int("CHAT_RECALL", ChatSettings.recall_limit, minimum=0),
        reply_lease_s=_int("CHAT_REPLY_LEASE", ChatSettings.reply_lease_s, minimum=2),
    )
    documents = DocumentSettings(
        max_upload_bytes=_int("MAX_UPLOAD_MB", 50, minimum=1, maximum=100_000) * MIB,
        parse_timeout_s=_int("PARSE_TIMEOUT_S", 120, minimum=1),
        parse_memory_bytes=_int("PARSE_MEMORY_MB", 2048, minimum=64) * MIB,
        parse_pool=_int("INGEST_PARSE_POOL", os.cpu_count() or 1, minimum=0, maximum=256),
        embed_shared=_int("INGEST_EMBED_SHARED", 1, minimum=0, maximum=1) == 1,
    )
    return Settings(
        app=app,
        db=db,
        redis=redis,
        auth=auth,
        queue=queue,
        exports=exports,
        chat=chat,
        documents=documents,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return load_settings()
