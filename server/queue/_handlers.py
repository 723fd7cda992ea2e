"""The registry of job handlers the runner dispatches on.

A handler is ``async def handler(ctx: JobContext) -> None`` registered for one job kind with
:func:`job_handler`, in the module of the domain that owns the work. It may run more than once
for the same job (a retry, a worker killed mid-way), so it must be idempotent: derive everything
from the database and overwrite, never append. Raising :class:`JobFailed` fails the job at once;
any other exception is retried with backoff until the job's ``max_attempts`` are used up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ._context import JobContext

    Handler = Callable[[JobContext], Awaitable[None]]
    FailureHook = Callable[[JobContext, str], Awaitable[None]]

__all__ = ("HANDLERS", "HandlerSpec", "JobFailed", "job_handler")


class JobFailed(Exception):  # noqa: N818 - the name other modules code against
    """A permanent failure: the job is marked failed with this reason and not retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class HandlerSpec:
    """A registered handler and how the runner treats it."""

    kind: str
    handler: Handler
    time_limit_s: int
    on_failure: FailureHook | None
    every_s: int | None
    """When set, the sweeper keeps one job of this kind scheduled every ``every_s`` seconds."""


HANDLERS: dict[str, HandlerSpec] = {}


def job_handler(
    kind: str,
    *,
    time_limit_s: int = 900,
    on_failure: FailureHook | None = None,
    every_s: int | None = None,
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for jobs of ``kind``.

    ``time_limit_s`` bounds one attempt (the job's own ``timeout_s`` bounds it too).
    ``on_failure(ctx, reason)`` runs once when the job fails for good, e.g. to mark the
    object it works on failed. ``every_s`` makes it a periodic job with no target.
    """

    def register(handler: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind].handler is not handler:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        HANDLERS[kind] = HandlerSpec(kind, handler, time_limit_s, on_failure, every_s)
        return handler

    return register
