"""`ParsePool`: `parse_isolated`'s containment without a new process per document.

Starting a parser process costs tens of milliseconds (more than parsing a small Markdown file
takes), so a stream of small documents spends most of its time forking. A pool keeps a few
parser processes (from the same fork server) and sends them one document at a time. Each
job still runs under the document's limits: the address-space limit is set before the job,
the CPU-time limit is moved to "now + timeout", and the parent kills the process on timeout
or cancellation. A process that crashed, was killed or ran out of memory is replaced; a
process is also retired after `max_jobs` documents, so that memory one file left
fragmented does not stay. Files over `max_bytes` go to a fresh child of their own
(`parse_isolated`), as large files are where hostile input does its damage.
"""

from __future__ import annotations

import contextlib
import queue
import resource
import threading
from typing import TYPE_CHECKING

import msgspec

from ingest._chunk import chunk
from ingest._control import as_cancel_check
from ingest._errors import IngestError
from ingest._isolated import CONTEXT, exchange, parse_isolated, parse_to_message, stop
from ingest._types import ChunkOptions, Limits

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from ingest._types import DocumentKind, ParsedDocument, Progress

__all__ = ["ParsePool"]

_MIB = 1024 * 1024
_CPU_GRACE_S = 5
_RETIRING = frozenset({"cancelled", "timeout", "memory"})


class _Job(msgspec.Struct, array_like=True):
    data: bytes
    kind: str
    limits: Limits
    chunking: ChunkOptions | None


_job_encoder = msgspec.msgpack.Encoder()
_job_decoder = msgspec.msgpack.Decoder(_Job)


class _Worker:
    def __init__(self, name: str) -> None:
        self.connection, child_end = CONTEXT.Pipe(duplex=True)
        self.process: BaseProcess = CONTEXT.Process(
            target=_worker_main, args=(child_end,), name=name, daemon=True
        )
        self.process.start()
        child_end.close()
        self.jobs = 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.close()
        stop(self.process)


class ParsePool:
    """Up to `size` long-lived parser processes (named `name`), each parsing one document at
    a time.

    `parse` has `parse_isolated`'s signature and guarantees; call it from worker threads
    (it blocks). When every process is busy, callers wait for one, so at most `size`
    documents are parsed at once.
    """

    def __init__(
        self,
        size: int,
        *,
        max_jobs: int = 500,
        max_bytes: int = 4 * _MIB,
        name: str = "ingest-parse-pool",
    ) -> None:
        if size < 1:
            raise ValueError("a ParsePool needs at least one process")
        self.size = size
        self.name = name
        self.max_jobs = max_jobs
        self.max_bytes = max_bytes
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(None)  # a slot; its process starts on first use
        self._closed = False
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()

    def parse(
        self,
        data: bytes,
        kind: DocumentKind,
        limits: Limits | None = None,
        progress: Callable[[Progress], None] | None = None,
        *,
        should_cancel: Callable[[], bool] | threading.Event | None = None,
        chunking: ChunkOptions | None = None,
    ) -> ParsedDocument:
        """Parse `data` as `kind` in one of the pool's processes (see `parse_isolated`).

        With `chunking`, the process also cuts the document (`chunk`) and returns the chunks
        in `ParsedDocument.chunks`: the tokenizer's work is done where the parsing is, off the
        caller's process and on as many cores as the pool has processes.
        """
        limits = limits or Limits()
        if len(data) > self.max_bytes:
            document = parse_isolated(data, kind, limits, progress, should_cancel=should_cancel)
            if chunking is None:
                return document
            return msgspec.structs.replace(document, chunks=tuple(chunk(document, chunking)))
        cancelled = as_cancel_check(should_cancel)
        worker = self._idle.get()
        healthy = False
        try:
            if self._closed:
                raise IngestError("cancelled", "the parser pool is shut down")
            if worker is None or not worker.process.is_alive():
                worker = self._start()
            worker.jobs += 1
            worker.connection.send_bytes(_job_encoder.encode(_Job(data, kind, limits, chunking)))
            try:
                document = exchange(worker.connection, worker.process, limits, progress, cancelled)
            except IngestError as exc:
                # A failure the process reported about the file leaves it usable; one that
                # stopped it mid-job (cancel, timeout, crash) or a memory error does not.
                healthy = worker.process.is_alive() and exc.code not in _RETIRING
                raise
            healthy = True
            return document
        finally:
            if worker is not None and (not healthy or worker.jobs >= self.max_jobs):
                self._retire(worker)
                worker = None
            self._idle.put(worker)

    def _start(self) -> _Worker:
        worker = _Worker(self.name)
        with self._lock:
            self._workers.add(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
        worker.close()

    def close(self) -> None:
        """Stop every process; later calls to `parse` fail with `cancelled`."""
        self._closed = True
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.close()


def _worker_main(connection: Connection) -> None:
    """Entry point of a pool process: parse jobs until the pipe closes."""
    # Only soft limits are set per job: a soft limit can be raised again, up to the hard one.
    cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    as_hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    while True:
        try:
            job = _job_decoder.decode(connection.recv_bytes())
        except (EOFError, OSError):
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = int(used.ru_utime + used.ru_stime + job.limits.timeout_s) + _CPU_GRACE_S
        resource.setrlimit(resource.RLIMIT_CPU, (_within(cpu_s, cpu_hard), cpu_hard))
        resource.setrlimit(resource.RLIMIT_AS, (_within(job.limits.memory_bytes, as_hard), as_hard))
        kind: DocumentKind = job.kind  # type: ignore[assignment]
        reply = parse_to_message(connection, job.data, kind, job.limits, job.chunking)
        del job
        connection.send_bytes(reply)


def _within(value: int, hard: int) -> int:
    return value if hard == resource.RLIM_INFINITY else min(value, hard)
