"""Feedback on answers: one rating (up or down, with a comment) per user and assistant message,
counts in message payloads, and the admins' aggregates and JSONL export of rated exchanges."""

from .schemas import FeedbackIn, FeedbackOut
from .services import aggregate, counts, export, rate, summaries, withdraw

__all__ = [
    "FeedbackIn",
    "FeedbackOut",
    "aggregate",
    "counts",
    "export",
    "rate",
    "summaries",
    "withdraw",
]
