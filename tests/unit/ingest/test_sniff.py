from __future__ import annotations

import zipfile
from typing import TYPE_CHECKING

import pytest

from ingest import IngestError, sniff
from tests.unit.ingest._files import planted_docx, planted_pdf

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(("folder", "kind"), [("pdf", "pdf"), ("docx", "docx"), ("md", "markdown")])
def test_corpora_are_recognised_by_content(corpora: Path, folder: str, kind: str) -> None:
    for path in sorted((corpora / folder).iterdir()):
        if path.name == "poi_bug53475-password-is-pass.docx":
            continue
        # A misleading name must not matter.
        assert sniff(path.read_bytes(), "report.txt") == kind, path.name


def test_encrypted_word_document_is_reported_as_encrypted(corpora: Path) -> None:
    data = (corpora / "docx" / "poi_bug53475-password-is-pass.docx").read_bytes()
    with pytest.raises(IngestError) as caught:
        sniff(data, "secret.docx")
    assert caught.value.code == "encrypted"
    assert "password" in caught.value.message


def test_legacy_doc_is_unsupported() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512 + "WordDocument".encode("utf-16-le")
    with pytest.raises(IngestError) as caught:
        sniff(data)
    assert caught.value.code == "unsupported_type"
    assert ".docx" in caught.value.message


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 100,
        b"plain start \x00\x01\x02 then binary",
        b"\xff\xd8\xff\xe0 jpeg-ish \xc3\x28",
    ],
)
def test_binary_data_is_unsupported(data: bytes) -> None:
    with pytest.raises(IngestError) as caught:
        sniff(data, "notes.md")
    assert caught.value.code == "unsupported_type"


def test_zip_that_is_not_a_word_document_is_unsupported(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(IngestError) as caught:
        sniff(archive.read_bytes(), "a.docx")
    assert caught.value.code == "unsupported_type"


@pytest.mark.parametrize("data", [b"", b"   \n\t  "])
def test_empty_file(data: bytes) -> None:
    with pytest.raises(IngestError) as caught:
        sniff(data)
    assert caught.value.code == "empty"


@pytest.mark.parametrize(
    "data",
    [
        "# Titel\n\nÄrger über Öl.".encode(),
        "\ufeff# With BOM".encode(),
        "# UTF-16 text".encode("utf-16"),
        b"just plain text, no markup at all",
    ],
)
def test_text_is_markdown(data: bytes) -> None:
    assert sniff(data) == "markdown"


def test_generated_documents() -> None:
    assert sniff(planted_pdf()) == "pdf"
    assert sniff(planted_docx(), "x.pdf") == "docx"
