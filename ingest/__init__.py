"""Document pipeline: sniff a file's type from its bytes, parse PDF, DOCX and Markdown into
structured blocks, chunk them along that structure. Pure functions, no web or database imports."""
