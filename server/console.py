"""What every command-line command needs: settings with a one-line error, a migrated database.

Shared by the ``assistant`` command group (:mod:`server.cli`) and the domains' own command groups
(``assistant documents …``), which it sits below. Heavy imports happen inside the functions so
that ``assistant --help`` stays instant.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from server.settings import Settings

__all__ = ("fail", "migrated_url", "settings_or_exit")


def fail(message: str) -> NoReturn:
    """Print ``error: message`` to stderr and exit with status 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def settings_or_exit() -> Settings:
    """The settings from the environment, or a one-line error and exit 2 when one is invalid."""
    from server.settings import SettingsError, get_settings  # noqa: PLC0415

    try:
        return get_settings()
    except SettingsError as exc:
        fail(str(exc))


def migrated_url(settings: Settings) -> str:
    """The database URL, after bringing its schema up to date."""
    from server.db import database_url  # noqa: PLC0415
    from server.db.migrate import upgrade  # noqa: PLC0415

    try:
        url = database_url(settings)
        upgrade(url)
    except (OSError, ConnectionError) as exc:
        fail(f"cannot reach the database: {exc}")
    return url
