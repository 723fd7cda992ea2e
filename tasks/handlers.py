"""Imports every module that registers job handlers, so a worker knows every job kind.

A new handler module is registered by adding its import here.
"""

from __future__ import annotations

from server.phases import jobs as phases
from tasks import cleanup, exports, ingest

__all__ = ("cleanup", "exports", "ingest", "phases")
