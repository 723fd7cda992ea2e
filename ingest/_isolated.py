"""`parse_isolated`: `parse` in a child process with memory, time and crash containment."""

from __future__ import annotations

import multiprocessing
import resource
import signal
import time
from typing import TYPE_CHECKING

import msgspec

from ingest._chunk import chunk
from ingest._control import as_cancel_check
from ingest._errors import ErrorCode, IngestError
from ingest._parse import parse
from ingest._types import Limits, ParsedDocument, Progress

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable
    from multiprocessing.connection import Connection

    from ingest._types import ChunkOptions, DocumentKind

__all__ = ["CONTEXT", "exchange", "parse_isolated", "parse_to_message", "stop"]

# Children come from a fork server: a clean single-threaded process, never a fork of the
# (possibly threaded, async) caller.
CONTEXT = multiprocessing.get_context("forkserver")
# The fork server imports the parsers and loads the tokenizer once (`ingest._preload`), so
# children start without that cost. ("__main__" is the default preload entry, kept; Python
# 3.11 does not honour it, so each child still re-imports the caller's main module.)
CONTEXT.set_forkserver_preload(["__main__", "ingest._preload"])
_POLL_S = 0.05
_KILL_GRACE_S = 5.0


class Failure(msgspec.Struct, tag="failure"):
    code: ErrorCode
    message: str


class Done(msgspec.Struct, tag="done"):
    document: ParsedDocument


class Step(msgspec.Struct, tag="progress"):
    progress: Progress


Message = Failure | Done | Step
encoder = msgspec.msgpack.Encoder()
decoder: msgspec.msgpack.Decoder[Failure | Done | Step] = msgspec.msgpack.Decoder(Message)


def parse_isolated(
    data: bytes,
    kind: DocumentKind,
    limits: Limits | None = None,
    progress: Callable[[Progress], None] | None = None,
    *,
    should_cancel: Callable[[], bool] | threading.Event | None = None,
) -> ParsedDocument:
    """Parse `data` as `kind` in a separate process and return the result.

    The child runs under an address-space limit (`limits.memory_bytes`) and is killed once
    `limits.timeout_s` has passed or as soon as `should_cancel` reports cancellation (polled
    every 50 ms). `progress` is called in the calling thread. A crash, an out-of-memory
    condition, a timeout or a limit breach becomes an `IngestError`; this process is never
    affected. Blocking: call it from a worker thread, not from an event loop.

    Children are forked from a `forkserver` process that has the parsers imported, so a call
    costs about 10 ms on top of parsing, plus, on Python 3.11, re-importing the caller's
    `__main__` module in the child (multiprocessing does that; keep the entry point light,
    e.g. run workers with `python -m package`, whose `__main__` is not re-imported).
    """
    limits = limits or Limits()
    cancelled = as_cancel_check(should_cancel)
    receiver, sender = CONTEXT.Pipe(duplex=False)
    child = CONTEXT.Process(
        target=_child_main, args=(sender, data, kind, limits), name="ingest-parse", daemon=True
    )
    child.start()
    sender.close()
    try:
        return exchange(receiver, child, limits, progress, cancelled)
    finally:
        receiver.close()
        stop(child)


def exchange(
    receiver: Connection,
    child: multiprocessing.process.BaseProcess,
    limits: Limits,
    progress: Callable[[Progress], None] | None,
    cancelled: Callable[[], bool],
) -> ParsedDocument:
    """Read a parser process's messages until its result; raise its failure, or an
    `IngestError` on cancellation, timeout or crash (the caller then stops the process)."""
    deadline = time.monotonic() + limits.timeout_s
    while True:
        if cancelled():
            raise IngestError("cancelled", "processing was cancelled")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise IngestError(
                "timeout", f"the document took longer than {limits.timeout_s:g} s to read"
            )
        if not receiver.poll(min(_POLL_S, remaining)):
            continue
        try:
            message = decoder.decode(receiver.recv_bytes())
        except EOFError:
            raise _crash_error(child) from None
        if isinstance(message, Step):
            if progress is not None:
                progress(message.progress)
        elif isinstance(message, Failure):
            raise IngestError(message.code, message.message)
        else:
            return message.document


def stop(child: multiprocessing.process.BaseProcess) -> None:
    if child.is_alive():
        child.kill()
    child.join(_KILL_GRACE_S)
    child.close()


def _crash_error(child: multiprocessing.process.BaseProcess) -> IngestError:
    child.join(_KILL_GRACE_S)
    code = child.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        if -code in (signal.SIGKILL, signal.SIGXCPU):
            return IngestError(
                "memory",
                f"the parser was stopped by the system ({name}); the file needs "
                "more memory or time than allowed",
            )
        return IngestError("malformed", f"the parser crashed on this file ({name})")
    return IngestError("malformed", f"the parser stopped unexpectedly (exit code {code})")


def _child_main(sender: Connection, data: bytes, kind: DocumentKind, limits: Limits) -> None:
    """Entry point of the child process."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    cpu_s = int(limits.timeout_s) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    sender.send_bytes(parse_to_message(sender, data, kind, limits))
    sender.close()


def parse_to_message(
    sender: Connection,
    data: bytes,
    kind: DocumentKind,
    limits: Limits,
    chunking: ChunkOptions | None = None,
) -> bytes:
    """Parse in this (limited) process, sending progress on `sender`, and cut the document
    into chunks when `chunking` is given; return the encoded final message (the document or
    the failure)."""
    reply: Message
    try:
        document = parse(
            data,
            kind,
            limits,
            lambda step: sender.send_bytes(encoder.encode(Step(step))),
        )
        if chunking is not None:
            document = msgspec.structs.replace(document, chunks=tuple(chunk(document, chunking)))
        reply = Done(document)
    except IngestError as exc:
        reply = Failure(exc.code, exc.message)
    except MemoryError:
        reply = Failure("memory", "the file needs more memory than allowed")
    try:
        return encoder.encode(reply)
    except MemoryError:
        return encoder.encode(Failure("memory", "the file needs more memory than allowed"))
