"""Limits of the documents feature, read from the environment when used."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ingest import Limits

MIB = 1024 * 1024


@dataclass(frozen=True)
class DocumentSettings:
    """``MAX_UPLOAD_MB`` (default 50) bounds an upload; parsing limits follow ingest's defaults.

    ``parse_pool`` parser processes are reused from document to document (0: a fresh process
    per document, the slower former path); ``embed_shared`` lets concurrent documents share
    embedding calls.
    """

    max_upload_bytes: int
    parse_timeout_s: float
    parse_memory_bytes: int
    parse_pool: int = 2
    embed_shared: bool = True

    def limits(self) -> Limits:
        """The parser limits for one document."""
        return Limits(
            max_bytes=self.max_upload_bytes,
            timeout_s=self.parse_timeout_s,
            memory_bytes=self.parse_memory_bytes,
        )


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be positive")
    return value


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{name}={raw!r} is not a whole number >= 0")
    return int(raw)


def document_settings() -> DocumentSettings:
    """``MAX_UPLOAD_MB``, ``PARSE_TIMEOUT_S`` (120), ``PARSE_MEMORY_MB`` (2048),
    ``INGEST_PARSE_POOL`` (default: the number of CPU cores) and ``INGEST_EMBED_SHARED``
    (1)."""
    return DocumentSettings(
        max_upload_bytes=int(_number("MAX_UPLOAD_MB", 50) * MIB),
        parse_timeout_s=_number("PARSE_TIMEOUT_S", 120),
        parse_memory_bytes=int(_number("PARSE_MEMORY_MB", 2048) * MIB),
        parse_pool=_count("INGEST_PARSE_POOL", os.cpu_count() or 1),
        embed_shared=_count("INGEST_EMBED_SHARED", 1) > 0,
    )
