"""The browser side: the demo page at ``/``, the ``<ua-chat>`` widget, the JavaScript client, and
the CORS policy that lets pages on other origins use them.

Everything here is plain files (ES modules, CSS, HTML) served as they are: nothing to build and
no Node at run time. The widget and the client are public files any site may load (``Access-
Control-Allow-Origin: *`` on them); what an origin may *do* with them is decided by
``CORS_ORIGINS`` on the API and by the WebSocket's ``Origin`` check.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar import Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import CacheControlHeader
from litestar.response import File
from litestar.static_files import create_static_files_router

from server.access import PUBLIC

if TYPE_CHECKING:
    from litestar.types import ControllerRouterHandler

ROOT = Path(__file__).resolve().parents[1]
WEB_DIR = ROOT / "web"
CLIENT_DIR = ROOT / "clients" / "js" / "src"
_REVALIDATE = "no-cache"  # files change with each release and have no hash in their name


async def _public_file(response: Response[Any]) -> Response[Any]:
    """Let any page load the file (a module script from another origin is fetched with CORS);
    an origin listed in ``CORS_ORIGINS`` gets its own name back from the CORS middleware."""
    response.headers.setdefault("Access-Control-Allow-Origin", "*")
    return response


@get(
    "/",
    opt=PUBLIC,
    operation_id="get_demo_page",
    include_in_schema=False,
    cache_control=None,
)
async def demo_page() -> File:
    """The demo page: sign in, pick a project, chat through the phases."""
    return File(
        WEB_DIR / "index.html",
        content_disposition_type="inline",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": _REVALIDATE},
    )


def web_routes() -> list[ControllerRouterHandler]:
    """The demo page and the static trees: ``/app`` (the page's own assets), ``/widget`` (the
    embeddable element) and ``/client`` (the protocol client the widget imports)."""
    trees = {"/app": WEB_DIR / "app", "/widget": WEB_DIR / "widget", "/client": CLIENT_DIR}
    routers: list[ControllerRouterHandler] = [demo_page]
    for path, directory in trees.items():
        routers.append(
            create_static_files_router(
                path=path,
                directories=[directory],
                name=f"web{path.replace('/', '_')}",
                opt=PUBLIC,
                include_in_schema=False,
                cache_control=CacheControlHeader(no_cache=True),
                after_request=_public_file,
            )
        )
    return routers


def cors_config(origins: tuple[str, ...]) -> CORSConfig | None:
    """CORS for ``origins`` (``CORS_ORIGINS``); none at all when the list is empty.

    Bearer tokens travel in a header, not a cookie, so credentials stay off.
    """
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After", "Content-Disposition"],
        allow_credentials=False,
        max_age=600,
    )
