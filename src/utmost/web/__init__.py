"""The web app: the query API and the dashboard, with the collector, as one ASGI app."""

from utmost.web.app import create_app

__all__ = ["create_app"]
