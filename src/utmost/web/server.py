"""The server ``utmost serve`` runs the app under."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import uvicorn


class Server(uvicorn.Server):
    """uvicorn, but a SIGTERM or Ctrl-C returns instead of re-raising once the server stops.

    uvicorn re-raises the signal after shutting down, which would kill the process before the
    store is closed; returning lets ``Store.close`` finish the writer and checkpoint the file.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
