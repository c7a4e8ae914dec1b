"""The collector: Mixpanel's ingestion API (``/track``, ``/engage``, ``/groups``, ``/import``)."""

from utmost.collector.app import create_app

__all__ = ["create_app"]
