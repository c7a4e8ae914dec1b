"""The web app: the query API and the dashboard, with the collector, as one ASGI app."""

from typing import TYPE_CHECKING

from utmost.lazy import exports

if TYPE_CHECKING:
    from utmost.web.app import create_app
    from utmost.web.server import Server

#: The app loads FastAPI, DuckDB and the engine, so it is imported when first used
#: (:mod:`utmost.lazy`): ``utmost serve --help`` reads :mod:`utmost.web.defaults` without them.
__getattr__ = exports(__name__, {"create_app": "utmost.web.app", "Server": "utmost.web.server"})

__all__ = ["Server", "create_app"]
