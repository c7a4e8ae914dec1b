"""The web app: the query API and the dashboard, with the collector, as one ASGI app."""

from utmost.web.app import create_app
from utmost.web.server import Server

__all__ = ["Server", "create_app"]
