"""Reading a multipart upload straight to disk: never the whole body in memory.

The request body is fed to a push parser as it arrives; the ``file`` part goes to a `Spool`
(hashed and counted while written), small text fields are kept. Limits are checked while
reading, so an oversized upload is refused after at most ``limit`` bytes, not after all of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser
from multipart import parse_options_header

from server.errors import AppError

from .storage import TooLarge

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from .storage import FileStore, Spool

FIELD_BYTES = 4096
"""Largest accepted text field (``project_id`` needs 36)."""
HEADROOM_BYTES = 64 * 1024
"""Multipart framing and fields allowed on top of the file's own size limit."""


class Received(msgspec.Struct, frozen=True):
    """A complete upload: the spooled file and the form's text fields."""

    path: Path
    sha256: str
    size: int
    filename: str
    fields: dict[str, str]


def too_large(limit: int) -> AppError:
    """413 naming the limit."""
    return AppError(413, f"the file is larger than the limit of {limit // (1024 * 1024)} MiB")


async def receive_upload(
    content_type: str | None,
    body: AsyncIterator[bytes],
    store: FileStore,
    limit: int,
    on_field: Callable[[str, str], Awaitable[None]] | None = None,
) -> Received:
    """Parse ``multipart/form-data`` from ``body``, spooling the ``file`` part to ``store``.

    ``on_field`` sees each text field as soon as it is complete (e.g. to check access before
    the file arrives). Raises 400 for a malformed form or a missing file, 413 over ``limit``.
    """
    mime, options = parse_options_header(content_type or "")
    boundary = options.get("boundary")
    if mime != "multipart/form-data" or not boundary:
        raise AppError(400, "send the file as multipart/form-data with a 'file' field")
    spool: Spool | None = None
    filename = ""
    fields: dict[str, str] = {}
    total = 0
    try:
        with PushMultipartParser(boundary, max_segment_count=16) as parser:
            segment: MultipartSegment | None = None
            value = bytearray()
            async for block in body:
                total += len(block)
                if total > limit + HEADROOM_BYTES:
                    raise TooLarge
                for event in parser.parse(block):
                    if isinstance(event, MultipartSegment):
                        segment, value = event, bytearray()
                        if segment.name == "file" and segment.filename is not None:
                            if spool is not None:
                                raise AppError(400, "send one file per upload")
                            filename = segment.filename
                            spool = store.spool(limit)
                    elif event:
                        if spool is not None and segment is not None and segment.name == "file":
                            await spool.write(event)
                        else:
                            value += event
                            if len(value) > FIELD_BYTES:
                                raise AppError(400, "form field too long")
                    elif segment is not None and segment.name != "file" and segment.name:
                        fields[segment.name] = value.decode("utf-8", "replace")
                        if on_field is not None:
                            await on_field(segment.name, fields[segment.name])
                        segment = None
        if spool is None:
            raise AppError(400, "the form has no 'file' field")
        sha256 = await spool.close()
    except TooLarge:
        if spool is not None:
            await spool.discard()
        raise too_large(limit) from None
    except (ParserError, ParserLimitReached) as exc:
        if spool is not None:
            await spool.discard()
        raise AppError(400, f"malformed multipart/form-data: {exc}") from None
    except BaseException:
        if spool is not None:
            await spool.discard()
        raise
    return Received(spool.path, sha256, spool.size, filename, fields)
