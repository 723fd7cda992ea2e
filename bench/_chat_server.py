"""Our server as ``make run`` starts it, with the zero-latency provider in place of ``local``.

``python -m bench._chat_server PORT`` runs ``assistant serve --port PORT`` (migrations, the
embedded PostgreSQL under ``DATA_DIR`` unless ``DATABASE_URL`` is set, uvicorn with the same
options), the app being the one ``create_app`` builds; the only change is the provider the
``local`` entry of config.json streams from: :func:`bench._zero.tokens`, the generator every
server of the comparison streams from.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import server.app
from bench._zero import TOKENS, tokens
from providers import StreamEnd, TextDelta, Usage
from server.cli import main

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar import Litestar

    from providers import ChatRequest


class ZeroLatencyChat:
    """A chat provider that streams :func:`bench._zero.tokens` at once."""

    name = "local"

    async def stream(
        self, request: ChatRequest, model: str
    ) -> AsyncIterator[TextDelta | StreamEnd]:
        """The zero-latency reply, then its usage."""
        async for token in tokens():
            yield TextDelta(text=token, provider=self.name)
        yield StreamEnd(usage=Usage(10, TOKENS), finish_reason="stop")


_create_app = server.app.create_app


def create_app(*args: object, **kwargs: object) -> Litestar:
    """``create_app``, and at start-up the zero-latency provider as ``local``."""
    app = _create_app(*args, **kwargs)  # type: ignore[arg-type]

    async def zero_latency(app: Litestar) -> None:
        registry = server.app.services_of(app).config_store.registry
        registry.chat = {**registry.chat, "local": ZeroLatencyChat()}

    app.on_startup.append(zero_latency)
    return app


if __name__ == "__main__":
    # ``serve`` imports ``create_app`` from server.app when it runs: it gets this one.
    server.app.create_app = create_app
    main(["serve", "--port", sys.argv[1]])
