"""Documents: upload (stored by content hash), the ingest pipeline the task queue runs, the
pgvector index, hybrid search with access control in SQL, citations checked against chunks,
and the consistency commands (re-embed, check and repair).

Other parts of the server use :mod:`server.documents.retrieval` (``search``, ``passages``,
``verify_citations``); the REST routes are in :mod:`server.documents.controllers`.
"""
