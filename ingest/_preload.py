"""What the parser processes' fork server loads before it forks them (see `_isolated.CONTEXT`).

The parsers, and the tokenizers the chunker counts with: loading it takes most of a second,
so it is loaded once here and every parser process starts with it instead of loading its own.
"""

from ingest._parse import parse
from ingest._tokens import ids_after_newline, token_ids_batch

__all__ = ["parse"]

_LOADED = "loaded before the parser processes are forked"
ids_after_newline(_LOADED, token_ids_batch([_LOADED])[0])
