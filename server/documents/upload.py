"""Reading a multipart upload straight to disk: never the whole body in memory.

The request body is fed to a push parser as it arrives; the ``file`` part goes to a `Spool`
(hashed and counted while written), small text fields are kept. Limits are checked while
reading, so an oversized upload is refused after at most ``limit`` bytes, not after all of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from multipart import (
    MultipartSegment,
    ParserError,
    ParserLimitReached,
    PushMultipartParser,
    parse_options_header,
)

from server.errors import DomainError

from .storage import TooLarge

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from .storage import FileStore, Spool

    FieldHook = Callable[[str, str], Awaitable[None]]

FIELD_BYTES = 4096
"""Largest accepted text field (``project_id`` needs 36)."""
HEADROOM_BYTES = 64 * 1024
"""Multipart framing and fields allowed on top of the file's own size limit."""
MAX_PARTS = 16


class Received(msgspec.Struct, frozen=True):
    """A complete upload: its bytes (a small one) or its spooled file, and the form's text
    fields."""

    data: bytes | None
    path: Path | None
    sha256: str
    size: int
    filename: str
    fields: dict[str, str]


def too_large(limit: int) -> DomainError:
    """413 naming the limit."""
    return DomainError(
        "too_large", f"the file is larger than the limit of {limit // (1024 * 1024)} MiB"
    )


def _bad(message: str) -> DomainError:
    return DomainError("bad_request", message)


class _Form:
    """The state of one form being read: the current part, the spool, the fields."""

    def __init__(self, store: FileStore, limit: int, on_field: FieldHook | None) -> None:
        self.store = store
        self.limit = limit
        self.on_field = on_field
        self.segment: MultipartSegment | None = None
        self.value = bytearray()
        self.spool: Spool | None = None
        self.filename = ""
        self.fields: dict[str, str] = {}
        self.total = 0

    def _in_file(self) -> bool:
        return self.spool is not None and self.segment is not None and self.segment.name == "file"

    def start(self, segment: MultipartSegment) -> None:
        self.segment, self.value = segment, bytearray()
        if segment.name == "file" and segment.filename is not None:
            if self.spool is not None:
                raise _bad("send one file per upload")
            self.filename = segment.filename
            self.spool = self.store.spool(self.limit)

    async def data(self, block: bytes) -> None:
        if self._in_file():
            assert self.spool is not None
            await self.spool.write(block)
            return
        self.value += block
        if len(self.value) > FIELD_BYTES:
            raise _bad("form field too long")

    async def end(self) -> None:
        segment, self.segment = self.segment, None
        if segment is None or not segment.name or segment.name == "file":
            return
        self.fields[segment.name] = value = self.value.decode("utf-8", "replace")
        if self.on_field is not None:
            await self.on_field(segment.name, value)

    async def feed(self, parser: PushMultipartParser, block: bytes) -> None:
        self.total += len(block)
        if self.total > self.limit + HEADROOM_BYTES:
            raise TooLarge
        for event in parser.parse(block):
            if isinstance(event, MultipartSegment):
                self.start(event)
            elif event:
                await self.data(event)
            else:
                await self.end()

    async def received(self) -> Received:
        if self.spool is None:
            raise _bad("the form has no 'file' field")
        sha256 = await self.spool.close()
        return Received(
            self.spool.data, self.spool.path, sha256, self.spool.size, self.filename, self.fields
        )


async def receive_upload(
    content_type: str | None,
    body: AsyncIterator[bytes],
    store: FileStore,
    limit: int,
    on_field: FieldHook | None = None,
) -> Received:
    """Parse ``multipart/form-data`` from ``body``, spooling the ``file`` part to ``store``.

    ``on_field`` sees each text field as soon as it is complete (e.g. to check access before
    the file arrives). Raises 400 for a malformed form or a missing file, 413 over ``limit``.
    On any error the partial file is removed.
    """
    mime, options = parse_options_header(content_type or "")
    boundary = options.get("boundary")
    if mime != "multipart/form-data" or not boundary:
        raise _bad("send the file as multipart/form-data with a 'file' field")
    form = _Form(store, limit, on_field)
    try:
        with PushMultipartParser(boundary, max_segment_count=MAX_PARTS) as parser:
            async for block in body:
                await form.feed(parser, block)
        return await form.received()
    except TooLarge:
        raise too_large(limit) from None
    except (ParserError, ParserLimitReached) as exc:
        raise _bad(f"malformed multipart/form-data: {exc}") from None
    finally:
        if form.spool is not None and not form.spool.closed:
            await form.spool.discard()
