"""The web app's defaults, shown by ``utmost serve --help``: nothing here imports FastAPI or DuckDB."""

from __future__ import annotations

#: Seconds between two takings-in of new events for the dashboard (``utmost serve
#: --refresh-every``, whole seconds): the derived tables are brought up to date this often, and
#: a fresh backend takes over the dashboard's questions at most this often, so its answers are
#: at most this much behind the collector, plus one rebuild. A refresh costs its scans of the
#: kept tables besides the events it takes in (10M events stored: ~0.7 s; 100M: ~5 s), which a
#: longer interval pays less often; one with nothing to take in still reads a few tables.
REFRESH_EVERY = 30
