"""The worker's entry point for Dramatiq's own command line: ``dramatiq tasks``.

At the top like ``server/app.py``: it may import ``server``, and nothing in ``server`` imports
it. Importing it reads the settings (``REDIS_URL`` is required), builds the broker with the one
``run_job`` actor, and registers every domain's job handlers (``server.app.JOB_MODULES``).
``assistant worker`` runs the same queue runtime in a single process.
"""

from __future__ import annotations

import dramatiq

from server.app import JOB_MODULES
from server.db import database_url
from server.queue import worker_broker
from server.settings import get_settings

__all__ = ("broker",)

_settings = get_settings()
broker = worker_broker(_settings, database_url(_settings), JOB_MODULES)
dramatiq.set_broker(broker)
