"""How each provider's API spells replies, stream chunks and errors on the wire."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
from typing import Any

_ERROR_TYPES = {
    "openai": {429: "requests", 500: "server_error", 503: "server_error", 529: "server_error"},
    "anthropic": {
        400: "invalid_request_error",
        401: "authentication_error",
        429: "rate_limit_error",
        500: "api_error",
        529: "overloaded_error",
    },
}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event."""
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def error_body(wire: str, status: int, message: str) -> dict[str, Any]:
    """The JSON error body ``wire`` sends with ``status``."""
    if wire == "anthropic":
        kind = _ERROR_TYPES["anthropic"].get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_f"}
    if wire == "gemini":
        return {
            "error": {"code": status, "message": message, "status": _GOOGLE_STATUS.get(status, "X")}
        }
    kind = _ERROR_TYPES["openai"].get(status, "invalid_request_error")
    code = "rate_limit_exceeded" if status == 429 else None
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def openai_chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    """A ``chat.completion.chunk``."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1727346168,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def openai_usage_chunk(model: str, prompt: int, completion: int) -> dict[str, Any]:
    """The last chunk when ``stream_options.include_usage`` is set."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1727346168,
        "model": model,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def openai_completion(model: str, text: str, prompt: int, completion: int, finish: str) -> dict:
    """A non-streamed ``chat.completion``."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1727346168,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def anthropic_tool_use(
    model: str, name: str, value: Any, prompt: int, completion: int
) -> dict[str, Any]:
    """A non-streamed message whose answer is one ``tool_use`` block."""
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "tool_use", "id": "toolu_fake", "name": name, "input": value}],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": completion},
    }


def gemini_response(model: str, text: str, prompt: int, completion: int) -> dict[str, Any]:
    """A non-streamed ``GenerateContentResponse``."""
    return gemini_chunk(model, text, prompt, completion, "STOP")


def anthropic_start(model: str, prompt: int) -> list[bytes]:
    """Events before the first text delta."""
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": model,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": 1},
    }
    return [
        sse({"type": "message_start", "message": message}, "message_start"),
        sse(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        ),
        sse({"type": "ping"}, "ping"),
    ]


def anthropic_delta(text: str) -> bytes:
    """One ``content_block_delta`` with text."""
    delta = {"type": "text_delta", "text": text}
    return sse({"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta")


def anthropic_end(completion: int, stop_reason: str) -> list[bytes]:
    """Events after the last text delta."""
    return [
        sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": completion},
            },
            "message_delta",
        ),
        sse({"type": "message_stop"}, "message_stop"),
    ]


def gemini_chunk(
    model: str, text: str, prompt: int, completion: int, finish: str | None
) -> dict[str, Any]:
    """One ``GenerateContentResponse`` of a stream."""
    candidate: dict[str, Any] = {
        "content": {"parts": [{"text": text}], "role": "model"},
        "index": 0,
    }
    if finish:
        candidate["finishReason"] = finish
    usage: dict[str, Any] = {"promptTokenCount": prompt, "totalTokenCount": prompt + completion}
    if completion:
        usage["candidatesTokenCount"] = completion
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model}


def fake_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for ``text``."""
    seed = hashlib.sha256(text.encode()).digest()
    raw = [((seed[i % len(seed)] + i * 37) % 251) / 125.0 - 1.0 for i in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [v / norm for v in raw]


def base64_vector(vector: list[float]) -> str:
    """A vector as OpenAI's ``encoding_format=base64`` spells it (little-endian float32)."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
