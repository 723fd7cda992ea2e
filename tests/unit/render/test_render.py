from __future__ import annotations

from datetime import UTC, datetime

import pytest

from render import FORMATS, ExportDocument, RenderOptions, render


def _titled(title: str) -> ExportDocument:
    return ExportDocument(
        project_id="p", title=title, template="business-plan", generated_at=datetime.now(UTC)
    )


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_render_every_format(plan: ExportDocument, fmt: str) -> None:
    rendered = render(plan, fmt)  # type: ignore[arg-type]
    assert rendered.content_type == FORMATS[fmt]  # type: ignore[index]
    assert rendered.filename == f"ledgerly-business-plan-2026.{fmt}"
    assert rendered.content


@pytest.mark.parametrize("fmt", ["pdf", "docx", "md"])
def test_a_draft_says_so_in_its_file_name(plan: ExportDocument, fmt: str) -> None:
    rendered = render(plan, fmt, RenderOptions(mode="draft"))  # type: ignore[arg-type]
    assert rendered.filename == f"ledgerly-business-plan-2026-draft.{fmt}"


def test_json_is_the_whole_project_in_every_mode(plan: ExportDocument) -> None:
    final = render(plan, "json")
    draft = render(plan, "json", RenderOptions(mode="draft", paper_size="Letter"))
    assert draft == final


def test_magic_bytes(plan: ExportDocument) -> None:
    assert render(plan, "pdf").content.startswith(b"%PDF-")
    assert render(plan, "docx").content.startswith(b"PK")


@pytest.mark.parametrize(
    ("title", "filename"),
    [
        ("../../etc/passwd", "etc-passwd.md"),
        ("Plan d'affaires: Café Crème", "plan-d-affaires-cafe-creme.md"),
        ("Бизнес-план", "export.md"),
        ("", "export.md"),
        ("x" * 300, "x" * 80 + ".md"),
    ],
)
def test_filenames_are_safe_ascii(title: str, filename: str) -> None:
    assert render(_titled(title), "md").filename == filename


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown export format 'rtf'"):
        render(_titled("x"), "rtf")  # type: ignore[arg-type]
