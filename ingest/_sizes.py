"""Byte counts for messages people read."""

from __future__ import annotations

__all__ = ["human_size"]


def human_size(size: int) -> str:
    """`size` bytes as e.g. "512 bytes", "40.0 KiB", "50.0 MiB", "1.0 GiB"."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"
