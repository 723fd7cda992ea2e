"""Checks on a DOCX archive before any XML is parsed, and normalisation of what python-docx
cannot open: Strict OOXML namespaces, and the main part of macro-enabled documents (`.docm`)
and templates (`.dotx`, `.dotm`), which is a plain document part under another content type
(macros live in a separate part that is never read).

Zip bombs are caught from the ZIP directory alone: entry count, total uncompressed size and
per-entry compression ratio. The declared sizes can be trusted because `zipfile` never
inflates past an entry's declared size (and fails its CRC check if the data claims less).
XML parts with a DTD are refused: WordprocessingML never needs one, and refusing it closes
entity-expansion attacks regardless of parser settings.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from typing import TYPE_CHECKING

from ingest._errors import IngestError
from ingest._sizes import human_size

if TYPE_CHECKING:
    from ingest._types import Limits

__all__ = ["open_checked", "safe_docx_bytes"]

_RATIO_FLOOR = 1024 * 1024  # small entries may compress extremely well and harm no one
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY", "<!DOCTYPE".encode("utf-16-le"))
# Strict OOXML (ISO 29500 strict) names its namespaces and relationship types under purl.oclc.org;
# each maps to the Transitional name by inserting the 2006 version segment.
_STRICT_NS = re.compile(rb"http://purl\.oclc\.org/ooxml/(\w+)/(\w+)")
_CONTENT_TYPES = "[Content_Types].xml"
_DOCUMENT_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_OTHER_MAINS = re.compile(
    rb"application/vnd\.(?:ms-word\.(?:document\.macroEnabled|template\.macroEnabledTemplate)"
    rb"|openxmlformats-officedocument\.wordprocessingml\.template)\.main\+xml"
)


def open_checked(data: bytes, limits: Limits) -> zipfile.ZipFile:
    """Open the archive after checking its directory against the limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise IngestError(
            "malformed", "the Word document is damaged or truncated (not a readable ZIP archive)"
        ) from exc
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries:
        raise IngestError(
            "too_large",
            f"the Word document holds {len(infos)} files; the limit is {limits.max_zip_entries}",
        )
    for info in infos:
        if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_zip_ratio * max(
            info.compress_size, 1
        ):
            raise IngestError(
                "too_large",
                f"the Word document looks like a zip bomb: {info.filename!r} is compressed "
                f"more than {limits.max_zip_ratio}:1",
            )
    total = sum(info.file_size for info in infos)
    if total > limits.max_unzipped_bytes:
        raise IngestError(
            "too_large",
            f"the Word document unpacks to {human_size(total)}; the limit is "
            f"{human_size(limits.max_unzipped_bytes)}",
        )
    return archive


def safe_docx_bytes(data: bytes, limits: Limits) -> bytes:
    """Return DOCX bytes that are safe to hand to python-docx.

    Raises `IngestError` for zip bombs, damaged archives and XML with a DTD. A Strict OOXML
    document is returned rewritten to Transitional namespaces (python-docx only knows those),
    and a macro-enabled document or a template with its main part declared as a plain
    document's; any other document is returned unchanged.
    """
    with open_checked(data, limits) as archive:
        parts: list[tuple[zipfile.ZipInfo, bytes]] = []
        strict = other_main = False
        try:
            for info in archive.infolist():
                if not info.filename.endswith((".xml", ".rels")):
                    parts.append((info, b""))
                    continue
                xml = archive.read(info)
                if any(marker in xml for marker in _DTD_MARKERS):
                    raise IngestError(
                        "malformed",
                        f"the Word document part {info.filename!r} declares a DTD, which Word "
                        "documents never do; it was refused as unsafe",
                    )
                strict = strict or _STRICT_NS.search(xml) is not None
                if info.filename == _CONTENT_TYPES:
                    other_main = _OTHER_MAINS.search(xml) is not None
                parts.append((info, xml))
            if not (strict or other_main):
                return data
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as rewritten:
                for info, xml in parts:
                    if info.filename.endswith((".xml", ".rels")):
                        body = _STRICT_NS.sub(rb"http://schemas.openxmlformats.org/\1/2006/\2", xml)
                        if info.filename == _CONTENT_TYPES:
                            body = _OTHER_MAINS.sub(_DOCUMENT_MAIN, body)
                    else:
                        body = archive.read(info)
                    rewritten.writestr(info.filename, body)
        # zipfile raises NotImplementedError for compression methods it lacks.
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError) as exc:
            raise IngestError(
                "malformed", "the Word document is damaged or truncated (a part cannot be read)"
            ) from exc
    return out.getvalue()
