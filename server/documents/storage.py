"""Files on disk under ``DATA_DIR/files``, named by their SHA-256, never by the client's name.

An upload is hashed and counted as it arrives (in memory while small, else spooled to
``files/tmp``), then written to ``files/tmp`` and renamed into ``files/<sha256[:2]>/<sha256>``;
the rename is atomic, so a stored file is always complete.
Two projects uploading the same bytes share one file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FLUSH_BYTES = 1024 * 1024


class TooLarge(Exception):  # noqa: N818 - reads as a condition, like StopIteration
    """The upload passed its size limit; the partial file has been removed."""


class Spool:
    """An upload being hashed and counted as it arrives: held in memory while small (most
    uploads are: they never touch the disk until stored under their hash), written to a
    temporary file in ``files/tmp`` once past :data:`_FLUSH_BYTES`."""

    def __init__(self, directory: Path, limit: int) -> None:
        self._directory = directory
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._pending = bytearray()
        self._limit = limit
        self.path: Path | None = None
        """The temporary file, once there is one."""
        self.data: bytes | None = None
        """The whole upload, once closed without a temporary file."""
        self.size = 0
        self.closed = False

    async def write(self, data: bytes) -> None:
        """Add ``data``; raises `TooLarge` (and removes the file) once past the limit."""
        self.size += len(data)
        if self.size > self._limit:
            await self.discard()
            raise TooLarge
        self._hash.update(data)
        self._pending += data
        if len(self._pending) >= _FLUSH_BYTES:
            block, self._pending = bytes(self._pending), bytearray()
            await anyio.to_thread.run_sync(self._append, block)

    def _append(self, block: bytes) -> None:
        if self._file is None:
            self._directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self._directory, prefix="upload-")
            self.path = Path(name)
            self._file = os.fdopen(fd, "wb")
        self._file.write(block)

    async def close(self) -> str:
        """Finish the upload and return the SHA-256 of everything written: a small upload
        stays in :attr:`data`, a large one is completed in its temporary file."""
        block, self._pending = bytes(self._pending), bytearray()
        if self._file is None:
            self.data = block
        else:
            await anyio.to_thread.run_sync(self._write_and_close, block)
        self.closed = True
        return self._hash.hexdigest()

    def _write_and_close(self, block: bytes) -> None:
        # One trip to a thread for the end of a large upload.
        assert self._file is not None
        with self._file:
            self._file.write(block)

    async def discard(self) -> None:
        """Drop what was received: close and delete the temporary file, if any."""
        self._pending = bytearray()
        if self._file is not None:
            self._file.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class FileStore:
    """Content-addressed files under one root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"

    def spool(self, limit: int) -> Spool:
        """A new spool for an upload of at most ``limit`` bytes."""
        return Spool(self._tmp, limit)

    def path_for(self, sha256: str) -> Path:
        """Where the file with this hash lives (whether or not it exists)."""
        if not _SHA256.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def keep(self, spooled: Path, sha256: str) -> Path:
        """Move a closed spool file to its content address; an identical file may exist."""
        target = self.path_for(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(spooled, target)
        return target

    def put(self, data: bytes, sha256: str) -> Path:
        """Store ``data`` (whose hash is ``sha256``) at its content address, through a
        temporary file renamed into place, so that a stored file is always complete."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="upload-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            return self.keep(Path(name), sha256)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    def read(self, sha256: str) -> bytes:
        """The file's bytes."""
        return self.path_for(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        """Whether the file with this hash is stored."""
        return self.path_for(sha256).is_file()

    def remove(self, sha256: str) -> bool:
        """Delete the file; False when it was not there."""
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def hashes(self) -> set[str]:
        """The hashes of every stored file (temporary files excluded)."""
        if not self.root.is_dir():
            return set()
        return {
            path.name
            for path in self.root.glob("??/*")
            if path.is_file() and _SHA256.match(path.name) and path.parent.name == path.name[:2]
        }


def file_store(data_dir: Path) -> FileStore:
    """The store under ``DATA_DIR/files``."""
    return FileStore(data_dir / "files")
