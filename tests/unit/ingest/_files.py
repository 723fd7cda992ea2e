"""Builders for the generated test documents: planted facts and hostile files."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import docx
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

CORPORA = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpora"

FACTS = {
    1: "The lighthouse keeper is Marguerite Okafor.",
    2: "The vault code is 7319.",
    3: "Sevenfold owls nest in the belfry.",
}


def planted_pdf() -> bytes:
    """Three pages, each with a known sentence, and an outline: Chapter One (p1-2), Chapter Two
    (p3)."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle("Planted Facts")
    for page, fact in FACTS.items():
        if page in (1, 3):
            title = "Chapter One" if page == 1 else "Chapter Two"
            pdf.bookmarkPage(title)
            pdf.addOutlineEntry(title, title, level=0)
            pdf.setFont("Helvetica-Bold", 16)
            pdf.drawString(72, 770, title)
        pdf.setFont("Helvetica", 11)
        pdf.drawString(72, 740, fact)
        pdf.drawString(72, 720, f"This is filler text on page {page}.")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def raw_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF file from numbered object bodies (object i+1 = objects[i]) with a valid xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, root, xref)
    )
    return out.getvalue()


_PAGE = (
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
    b" /Resources << /Font << /F1 5 0 R >> >> >>"
)
_CONTENT = b"BT /F1 12 Tf 72 700 Td (Hello hostile world) Tj ET"
_STREAM = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(_CONTENT), _CONTENT)
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def cyclic_pdf() -> bytes:
    """The page tree's /Kids point back at the root /Pages node."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [6 0 R] /Count 1 >>",
            _PAGE,
            _STREAM,
            _FONT,
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 6 0 R] /Count 1 >>",
        ]
    )


def lying_count_pdf() -> bytes:
    """One real page; the page tree claims a billion."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1000000000 >>",
            _PAGE,
            _STREAM,
            _FONT,
        ]
    )


def many_pages_pdf(pages: int) -> bytes:
    """A page tree that lists the same page object `pages` times (a small file, many pages)."""
    kids = b" ".join([b"3 0 R"] * pages)
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
            _PAGE,
            _STREAM,
            _FONT,
        ]
    )


def planted_docx() -> bytes:
    """Title, headings, a bulleted and a numbered list, a table, a header and a footer."""
    document = docx.Document()
    document.core_properties.title = "Field Guide"
    document.add_heading("Birds", level=1)
    document.add_paragraph("Owls hunt at night and nest in belfries.")
    document.add_heading("Owls", level=2)
    document.add_paragraph("Barn owl", style="List Bullet")
    document.add_paragraph("Snowy owl", style="List Bullet 2")
    document.add_paragraph("Count the eggs", style="List Number")
    table = document.add_table(rows=3, cols=2)
    for row, cells in enumerate(
        [("Species", "Wingspan"), ("Barn owl", "95 cm"), ("Snowy owl", "150 cm")]
    ):
        for col, text in enumerate(cells):
            table.cell(row, col).text = text
    document.add_heading("Fish", level=1)
    document.add_paragraph("Salmon swim upstream to spawn.")
    section = document.sections[0]
    section.header.paragraphs[0].text = "Field Guide header"
    section.footer.paragraphs[0].text = "Page footer text"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def replace_part(data: bytes, name: str, body: bytes) -> bytes:
    """Copy of a DOCX with one part's bytes replaced."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, body if info.filename == name else source.read(info))
    return out.getvalue()


def add_part(data: bytes, name: str, size: int) -> bytes:
    """Copy of a DOCX with an extra part of `size` zero bytes (deflated: a zip bomb)."""
    out = io.BytesIO(data)
    with (
        zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as target,
        target.open(name, "w", force_zip64=True) as part,
    ):
        block = bytes(1 << 20)
        for _ in range(size >> 20):
            part.write(block)
    return out.getvalue()


_W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def billion_laughs_document_xml() -> bytes:
    entities = [b'<!ENTITY lol0 "lol">']
    entities += [b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10)]
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE w:document [' + b"".join(entities) + b"]>"
        b"<w:document "
        + _W
        + b"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
    )


def deeply_nested_document_xml(depth: int = 100_000) -> bytes:
    return (
        b'<?xml version="1.0"?><w:document '
        + _W
        + b"><w:body>"
        + b"<w:sdt><w:sdtContent>" * depth
        + b"<w:p><w:r><w:t>deep</w:t></w:r></w:p>"
        + b"</w:sdtContent></w:sdt>" * depth
        + b"</w:body></w:document>"
    )


_NAMESPACES = (
    b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    b' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    b' xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"'
    b' xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    b' xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
    b' xmlns:v="urn:schemas-microsoft-com:vml"'
    b' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    b' mc:Ignorable="wps"'
)
_ENDNOTES_TYPE = b"application/vnd.openxmlformats-officedocument.wordprocessingml.endnotes+xml"
_ENDNOTES_REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/endnotes"


def text_box(text: bytes) -> bytes:
    """A run holding a text box the way Word 2010+ writes it: a DrawingML shape in
    `mc:Choice` and the same box as VML in `mc:Fallback`."""
    content = b"<w:txbxContent><w:p><w:r><w:t>" + text + b"</w:t></w:r></w:p></w:txbxContent>"
    return (
        b'<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor>'
        b"<a:graphic><a:graphicData><wps:wsp><wps:txbx>" + content + b"</wps:txbx></wps:wsp>"
        b"</a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice><mc:Fallback>"
        b"<w:pict><v:shape><v:textbox>" + content + b"</v:textbox></v:shape></w:pict>"
        b"</mc:Fallback></mc:AlternateContent></w:r>"
    )


def raw_docx(body: bytes, endnotes: bytes | None = None, main_type: bytes | None = None) -> bytes:
    """A DOCX made by python-docx whose `word/document.xml` body is `body` (raw XML, the
    namespaces above declared), optionally with an endnotes part (the `<w:endnote>`
    elements) and another content type for the main part (e.g. a macro-enabled `.docm`)."""
    out = io.BytesIO()
    docx.Document().save(out)
    data = out.getvalue()
    document = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document '
        + _NAMESPACES
        + b"><w:body>"
        + body
        + b"<w:sectPr/></w:body></w:document>"
    )
    data = replace_part(data, "word/document.xml", document)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        types = archive.read("[Content_Types].xml")
        rels = archive.read("word/_rels/document.xml.rels")
    if main_type is not None:
        types = re.sub(
            rb'(PartName="/word/document.xml" ContentType=")[^"]+', rb"\1" + main_type, types
        )
        data = replace_part(data, "[Content_Types].xml", types)
    if endnotes is None:
        return data
    types = types.replace(
        b"</Types>",
        b'<Override PartName="/word/endnotes.xml" ContentType="' + _ENDNOTES_TYPE + b'"/></Types>',
    )
    rels = rels.replace(
        b"</Relationships>",
        b'<Relationship Id="rIdEnd" Type="' + _ENDNOTES_REL + b'" Target="endnotes.xml"/>'
        b"</Relationships>",
    )
    data = replace_part(data, "[Content_Types].xml", types)
    data = replace_part(data, "word/_rels/document.xml.rels", rels)
    notes = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:endnotes '
        + _NAMESPACES
        + b'><w:endnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
        b"</w:endnote>" + endnotes + b"</w:endnotes>"
    )
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/endnotes.xml", notes)
    return out.getvalue()


_DEBRIS_FONT = (
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding"
    b" /Differences [33 /g33 /g34 /g35 /g36 /g37 /g38 /g39] >> >>"
)


def _debris_content(lines: int = 20) -> bytes:
    """Text in a font whose codes map to no known glyph names: PDFium passes the codes
    through, which come out as ASCII punctuation."""
    rows = [
        b"BT /F1 11 Tf 72 %d Td (%s) Tj ET"
        % (700 - 14 * i, bytes(33 + (i * 7 + j) % 7 for j in range(40)))
        for i in range(lines)
    ]
    return b"\n".join(rows)


def debris_pdf(*, with_text_page: bool) -> bytes:
    """A page of font debris, after a page of real text when `with_text_page`."""
    debris = _debris_content()
    good = b"BT /F2 12 Tf 72 700 Td (The survey found nesting terns on the east spit.) Tj ET"
    debris_page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R"
        b" /Resources << /Font << /F1 %d 0 R >> >> >>"
    )
    if not with_text_page:
        return raw_pdf(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                debris_page % (4, 5),
                b"<< /Length %d >>\nstream\n%s\nendstream" % (len(debris), debris),
                _DEBRIS_FONT,
            ]
        )
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /Font << /F2 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(good), good),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            debris_page % (7, 8),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(debris), debris),
            _DEBRIS_FONT,
        ]
    )
