"""What the parser processes' fork server loads before it forks them (see `_isolated.CONTEXT`).

The parsers, and the tokenizers the chunker counts with: loading it takes most of a second,
so it is loaded once here and every parser process starts with it instead of loading its own.
"""

from ingest._parse import parse
from ingest._tokens import count_tokens_after_newline, count_tokens_batch

__all__ = ["parse"]

count_tokens_batch(["loaded before the parser processes are forked"])
count_tokens_after_newline(["and this one too"])
