"""The one exception the pipeline raises, with a stable machine-readable code."""

from __future__ import annotations

from typing import Literal

__all__ = ["ErrorCode", "IngestError"]

ErrorCode = Literal[
    "unsupported_type",
    "encrypted",
    "no_text",
    "malformed",
    "too_large",
    "timeout",
    "memory",
    "cancelled",
    "empty",
]


class IngestError(Exception):
    """A document could not be ingested.

    `code` is stable and meant for programs (status fields, HTTP mapping); `message` is a
    sentence meant for the person who uploaded the file.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: ErrorCode = code
        self.message = message

    def __reduce__(self) -> tuple[type[IngestError], tuple[ErrorCode, str]]:
        return (IngestError, (self.code, self.message))
