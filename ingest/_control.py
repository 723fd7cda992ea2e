"""Cooperative cancellation, deadline and progress reporting used inside the parsers."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from ingest._errors import IngestError
from ingest._types import Progress

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ParseControl", "as_cancel_check"]


def as_cancel_check(
    should_cancel: Callable[[], bool] | threading.Event | None,
) -> Callable[[], bool]:
    """Turn an Event, a callable or None into a callable returning True once cancelled."""
    if should_cancel is None:
        return lambda: False
    if isinstance(should_cancel, threading.Event):
        return should_cancel.is_set
    return should_cancel


class ParseControl:
    """Checked by the parsers between pages and blocks.

    Raises `IngestError("cancelled")` once cancellation is requested and
    `IngestError("timeout")` once the deadline has passed; forwards progress to a callback.
    """

    def __init__(
        self,
        timeout_s: float,
        progress: Callable[[Progress], None] | None = None,
        should_cancel: Callable[[], bool] | threading.Event | None = None,
    ) -> None:
        self._deadline = time.monotonic() + timeout_s
        self._timeout_s = timeout_s
        self._progress = progress
        self._cancelled = as_cancel_check(should_cancel)

    def check(self) -> None:
        """Raise if the work should stop now."""
        if self._cancelled():
            raise IngestError("cancelled", "processing was cancelled")
        if time.monotonic() > self._deadline:
            raise IngestError(
                "timeout", f"the document took longer than {self._timeout_s:g} s to read"
            )

    def report(self, pages_done: int, page_count: int | None, blocks_done: int) -> None:
        """Check for cancellation and the deadline, then report progress."""
        self.check()
        self.finished(pages_done, page_count, blocks_done)

    def finished(self, pages_done: int, page_count: int | None, blocks_done: int) -> None:
        """Report progress without checking (the work is already done)."""
        if self._progress is not None:
            self._progress(Progress(pages_done, page_count, blocks_done))
