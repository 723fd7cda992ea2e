"""Background work on Dramatiq: the broker, the actors (ingest a document, render an export,
clean up) and the export renderers (PDF, DOCX, Markdown, JSON)."""
