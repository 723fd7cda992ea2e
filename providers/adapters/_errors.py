"""Turning HTTP failures of any SDK into ``ProviderError``."""

from __future__ import annotations

import email.utils
import re
import time
from typing import TYPE_CHECKING, Any

import httpx
import httpx2

from .._types import ErrorKind, ProviderError

if TYPE_CHECKING:
    from collections.abc import Mapping

_OVERLOADED_MARKERS = ("overloaded", "unavailable")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def kind_for_status(status: int, error_type: str | None = None) -> ErrorKind:
    """Classify an HTTP status (and the provider's error type string, when there is one)."""
    hint = (error_type or "").lower()
    if any(marker in hint for marker in _OVERLOADED_MARKERS):
        return "overloaded"
    if status < 400:
        # An error event inside a stream that started with 200.
        return "rate_limited" if "rate" in hint or "exhausted" in hint else "server"
    if status in {503, 529}:
        return "overloaded"
    if status == 429:
        return "rate_limited"
    if status in {408, 504}:
        return "timeout"
    # 499 is Google's CANCELLED, sent when the upstream gave up on the stream.
    if status >= 500 or status == 499:
        return "server"
    if status in {401, 403}:
        return "auth"
    return "bad_request"


def retry_after(headers: Mapping[str, str] | None, body: object = None) -> float | None:
    """Seconds the provider asked us to wait, from ``retry-after-ms``, ``Retry-After``
    (seconds or an HTTP date) or a Google ``RetryInfo.retryDelay`` in the body."""
    if headers is not None:
        lowered = {k.lower(): v for k, v in headers.items()}
        if (ms := lowered.get("retry-after-ms")) is not None:
            try:
                return max(0.0, float(ms) / 1000)
            except ValueError:
                pass
        if (value := lowered.get("retry-after")) is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
                if parsed is not None:
                    return max(0.0, parsed.timestamp() - time.time())
    return _google_retry_delay(body)


def _google_retry_delay(body: object) -> float | None:
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            match = _DURATION_RE.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match[1])
    return None


def error_type_of(body: object) -> str | None:
    """The provider's own error type (``overloaded_error``, ``RESOURCE_EXHAUSTED``...)."""
    if not isinstance(body, dict):
        return None
    error: Any = body.get("error", body)
    if isinstance(error, dict):
        for key in ("type", "status", "code"):
            value = error.get(key)
            if isinstance(value, str):
                return value
    return None


def from_status(
    provider: str,
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: object = None,
) -> ProviderError:
    """A ``ProviderError`` for an HTTP error response."""
    return ProviderError(
        provider,
        kind_for_status(status, error_type_of(body)),
        message,
        retry_after=retry_after(headers, body),
        status=status,
    )


def from_transport(provider: str, exc: BaseException) -> ProviderError | None:
    """A ``ProviderError`` for a network-level failure, or None if ``exc`` is not one."""
    # The SDKs moved from httpx to its fork httpx2; both may surface here.
    if isinstance(exc, httpx.TimeoutException | httpx2.TimeoutException | TimeoutError):
        return ProviderError(provider, "timeout", str(exc) or "request timed out")
    if isinstance(exc, httpx.TransportError | httpx2.TransportError | ConnectionError):
        return ProviderError(provider, "connection", str(exc) or type(exc).__name__)
    if isinstance(exc, ValueError):
        # The SDKs' SSE decoders raise JSONDecodeError / pydantic errors on garbage chunks.
        return ProviderError(provider, "malformed", f"unreadable response: {exc}")
    return None
