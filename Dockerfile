# syntax=docker/dockerfile:1
# Unified Assistant: the API server (`assistant serve`) and the worker (`assistant worker`) run from
# this one image. Build: docker build -t unified-assistant .

# ---- build: the locked dependencies into /app/.venv, with uv ----------------------------------
FROM python:3.11-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first (a layer that changes only with uv.lock), then the project itself.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY README.md ./
COPY server ./server
COPY providers ./providers
COPY ingest ./ingest
COPY render ./render
COPY tasks ./tasks
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# ---- runtime: no build tools, a non-root user, data in /data ----------------------------------
FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 assistant \
    && useradd --system --uid 10001 --gid assistant --home-dir /app --shell /usr/sbin/nologin assistant \
    && mkdir -p /data \
    && chown assistant:assistant /data
WORKDIR /app
COPY --from=build --chown=assistant:assistant /app /app
COPY --chown=assistant:assistant config.json ./config.json
COPY --chown=assistant:assistant web ./web
COPY --chown=assistant:assistant clients/js/src ./clients/js/src
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    ASSISTANT_CONFIG=/app/config.json
USER assistant
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["assistant", "serve"]
