"""config.json at run time: loaded and validated at start-up, reloaded when the file changes.

The file is the truth. The store polls it (every ``poll_interval_s``) and compares its bytes,
which works on every file system, tmpfs, overlay and ConfigMap symlink swaps included, where
change notifications and modification times are not always reliable; config.json is small.
A file that fails validation leaves the previous config in force and is reported through
``last_error`` and the log. Switching the active profile rewrites the file atomically, so every
server instance reading it follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from providers import ConfigError, build_registry, parse_config

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from providers import Embedder, ProvidersConfig, Registry
    from server.metering import Meter

    Validator = Callable[[Mapping[str, Any]], None]

logger = structlog.get_logger()

RETIRE_AFTER_S = 300.0
"""How long a replaced registry stays open so replies streaming through it can finish."""


class ConfigWriteError(Exception):
    """config.json could not be rewritten (read-only mount, permissions, disk full)."""


@dataclass(frozen=True, slots=True)
class _Snapshot:
    providers: ProvidersConfig
    raw: dict[str, Any]
    digest: str
    loaded_at: datetime


def _decode(data: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError("the top level must be a JSON object")
    return raw


class ConfigStore:
    """The config.json in force, the provider registry built from it and the one ``Router``.

    ``validators`` check the sections other components own (``workflows``...): each gets the
    decoded file and raises ``ConfigError`` naming the offending setting. ``environ`` is where
    API keys are read (default ``os.environ``). Every call through ``router`` and
    ``embedder()`` is recorded in ``meter``.
    """

    def __init__(
        self,
        path: Path,
        *,
        meter: Meter,
        validators: Sequence[Validator] = (),
        environ: Mapping[str, str] | None = None,
        poll_interval_s: float = 1.0,
        retire_after_s: float = RETIRE_AFTER_S,
    ) -> None:
        self.path = path
        self._validators = list(validators)
        self._environ = environ
        self._poll_interval_s = poll_interval_s
        self._retire_after_s = retire_after_s
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self.last_error: str | None = None
        """Why the newest version of the file was rejected; None once a valid one loads."""
        self.last_error_at: datetime | None = None
        self._failed_digest: str | None = None
        self._snapshot = self._parse(self._read())
        self.registry: Registry = build_registry(self._snapshot.providers, environ)
        self.meter = meter
        self.router = meter.router(self._snapshot.providers, self.registry)

    def embedder(self) -> Embedder:
        """The configured embedder, metered (read at every use: a reload replaces it)."""
        return self.meter.embedder(self.registry.embedder())

    @property
    def config(self) -> ProvidersConfig:
        """The providers part of the config in force."""
        return self._snapshot.providers

    @property
    def raw(self) -> Mapping[str, Any]:
        """The whole decoded file in force, sections of other components included."""
        return self._snapshot.raw

    @property
    def loaded_at(self) -> datetime:
        """When the config in force was loaded."""
        return self._snapshot.loaded_at

    def add_validator(self, validator: Validator) -> None:
        """Check a section on every load; the config in force must already pass it."""
        validator(self._snapshot.raw)
        self._validators.append(validator)

    def profile_for(self, project: Any) -> str | None:
        """The profile a project's replies go through: its override, else its organisation's
        (``org_profile``), while config.json still has it, else None (the active profile).
        ``project`` is anything with ``profile`` (and maybe ``org_profile``)."""
        for name in (getattr(project, "profile", None), getattr(project, "org_profile", None)):
            if name and name in self.config.profiles:
                return str(name)
        return None

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot be read ({exc.strerror or exc})") from None

    def _parse(self, data: bytes) -> _Snapshot:
        raw = _decode(data)
        providers = parse_config(raw)
        for validate in self._validators:
            validate(raw)
        digest = hashlib.sha256(data).hexdigest()
        return _Snapshot(providers, raw, digest, datetime.now(UTC))

    async def reload(self) -> bool:
        """Load the file if it changed; True when a new config came into force.

        An invalid file keeps the previous config and sets ``last_error``.
        """
        async with self._lock:
            return await self._reload()

    async def _reload(self) -> bool:
        try:
            data = await asyncio.to_thread(self._read)
        except ConfigError as exc:
            self._reject(str(exc), None)
            return False
        digest = hashlib.sha256(data).hexdigest()
        if digest in {self._snapshot.digest, self._failed_digest}:
            return False
        try:
            snapshot = self._parse(data)
        except ConfigError as exc:
            self._reject(str(exc), digest)
            return False
        self._apply(snapshot)
        return True

    def _reject(self, message: str, digest: str | None) -> None:
        if message != self.last_error or digest != self._failed_digest:
            logger.error("config rejected; the previous one stays in force", error=message)
        self.last_error, self._failed_digest = message, digest
        self.last_error_at = datetime.now(UTC)

    def _apply(self, snapshot: _Snapshot) -> None:
        previous = self._snapshot
        self._snapshot = snapshot
        self.last_error = self.last_error_at = self._failed_digest = None
        if snapshot.providers != previous.providers:
            old, self.registry = self.registry, build_registry(snapshot.providers, self._environ)
            self.router.reconfigure(snapshot.providers, self.registry)
            self._retire(old)
        logger.info("config loaded", path=str(self.path), active=snapshot.providers.active_profile)

    def _retire(self, registry: Registry) -> None:
        async def close_later() -> None:
            try:
                await asyncio.sleep(self._retire_after_s)
            finally:
                await registry.aclose()

        task = asyncio.get_running_loop().create_task(close_later())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def set_active_profile(self, name: str) -> None:
        """Make ``name`` the active profile by rewriting config.json, then load it.

        Raises ``ConfigError`` for a profile the file does not have, and ``ConfigWriteError``
        when the file on disk is invalid or cannot be written. Every other setting, and every
        other section, is kept as it is in the file.
        """
        async with self._lock:
            try:
                data = await asyncio.to_thread(self._read)
                current = self._parse(data)
            except ConfigError as exc:
                message = f"config.json on disk is invalid; fix it first: {exc}"
                raise ConfigWriteError(message) from None
            if name not in current.providers.profiles:
                raise ConfigError(f"active_profile: unknown profile {name!r}")
            raw = {**current.raw, "active_profile": name}
            text = json.dumps(raw, indent=2, ensure_ascii=False) + "\n"
            snapshot = self._parse(text.encode())
            await asyncio.to_thread(self._write, text)
            self._apply(snapshot)

    def _write(self, text: str) -> None:
        """Replace the file atomically: a reader sees the old file or the new one, never half."""
        target = self.path.resolve()
        try:
            mode = target.stat().st_mode & 0o777
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        except OSError as exc:
            raise ConfigWriteError(f"{target} cannot be written: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temp, mode)
            os.replace(temp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise ConfigWriteError(f"{target} cannot be written: {exc.strerror}") from None

    async def start(self) -> None:
        """Start watching the file (call once the event loop runs)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval_s)
            try:
                await self.reload()
            except Exception:
                # A listener or the registry failing must not stop the watch.
                logger.exception("config reload failed")

    async def stop(self) -> None:
        """Stop watching and close every provider client."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._retiring):
            task.cancel()
        await asyncio.gather(*self._retiring, return_exceptions=True)
        await self.registry.aclose()
