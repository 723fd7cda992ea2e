"""The job queue, server infrastructure: job rows are the truth, Dramatiq carries their ids.

Domains register handlers for their job kinds with :func:`job_handler` in their own ``jobs.py``
and queue work with :func:`enqueue` inside the request's transaction. The app imports the domain
job modules and starts the queue (:func:`start_queue`); a worker process runs the same runtime
(:func:`run_worker` for ``assistant worker``, :func:`worker_broker` for ``dramatiq tasks``).
See docs/queue.md.
"""

from __future__ import annotations

from ._context import JobContext
from ._enqueue import cancel, enqueue
from ._handlers import JobFailed, job_handler
from ._lifecycle import WORKER_TIMEOUT_MS, Queue, run_worker, start_queue, stop_queue
from ._outcome import Attempt, record_completed
from ._process import worker_broker
from ._runtime import JobRuntime
from ._sweep import PERIODIC_TARGET

__all__ = (
    "PERIODIC_TARGET",
    "WORKER_TIMEOUT_MS",
    "Attempt",
    "JobContext",
    "JobFailed",
    "JobRuntime",
    "Queue",
    "cancel",
    "enqueue",
    "job_handler",
    "record_completed",
    "run_worker",
    "start_queue",
    "stop_queue",
    "worker_broker",
)
