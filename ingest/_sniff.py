"""Decide a document's type from its bytes; the file name is never trusted."""

from __future__ import annotations

import io
import re
import zipfile
from typing import TYPE_CHECKING

from ingest._errors import IngestError

if TYPE_CHECKING:
    from ingest._types import DocumentKind

__all__ = ["decode_text", "sniff"]

_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WORD_MAIN_TYPES = (
    b"wordprocessingml.document.main+xml",
    b"wordprocessingml.template.main+xml",
    b"ms-word.document.macroEnabled.main+xml",
    b"ms-word.template.macroEnabledTemplate.main+xml",
)
# Control characters that never occur in text files (tab, newlines, form feed and escape do).
_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_TEXT_PROBE_CHARS = 64 * 1024


def sniff(data: bytes, filename: str | None = None) -> DocumentKind:
    """Return the kind of document `data` holds, judged by content alone.

    `filename` is accepted for callers' convenience and only used in messages. Raises
    `IngestError` with code `empty`, `encrypted` (password-protected Word files) or
    `unsupported_type`.
    """
    name = f"{filename!r} " if filename else ""
    if not data.strip():
        raise IngestError("empty", f"the file {name}is empty")
    # PDF readers accept the header anywhere in the first KiB; so do we.
    if _PDF_MAGIC in data[:1024]:
        return "pdf"
    if data.startswith(_ZIP_MAGIC):
        if _is_wordprocessing_zip(data):
            return "docx"
        raise IngestError(
            "unsupported_type",
            f"the file {name}is a ZIP archive but not a Word (.docx) document",
        )
    if data.startswith(_OLE2_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise IngestError(
                "encrypted",
                f"the Word document {name}is password-protected; remove the password and "
                "upload it again",
            )
        raise IngestError(
            "unsupported_type",
            f"the file {name}is a legacy Office file (.doc); save it as .docx and upload it again",
        )
    text = decode_text(data)
    if text is None or _BINARY_CONTROL.search(text[:_TEXT_PROBE_CHARS]):
        raise IngestError(
            "unsupported_type",
            f"the file {name}is not a PDF, a Word (.docx) document or Markdown/plain text",
        )
    return "markdown"


def decode_text(data: bytes) -> str | None:
    """Decode UTF-8 (with or without BOM) or BOM-marked UTF-16; None when it is neither."""
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _is_wordprocessing_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names:
                return False
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > 1024 * 1024:
                return False
            content_types = archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
        # zipfile raises NotImplementedError for compression methods it lacks.
        # A damaged archive still shows its local file names; if it looks like a Word
        # document, let the DOCX parser report the damage instead of calling it unsupported.
        head = data[: 256 * 1024]
        return b"word/document.xml" in head or b"[Content_Types].xml" in head
    return any(t in content_types for t in _WORD_MAIN_TYPES) or "word/document.xml" in names
