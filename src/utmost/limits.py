"""Shutting out clients that keep sending wrong secrets: a 429 with ``Retry-After``.

Every request that presents a project secret — the dashboard's sign-in form and one-time
links, HTTP Basic on ``/api``, ``/import``'s Basic auth — asks :meth:`FailureLimit.check`
first and reports a wrong secret with :meth:`FailureLimit.failed`, all against one
:class:`FailureLimit` per server, keyed by the client's address.

A client's first ``free`` wrong secrets cost it nothing; the ``free``-th and each one after it
shut it out for a wait that doubles (1 s, 2 s, 4 s … at most 5 minutes). While shut out, its
requests are refused unread, a right secret too: checking it would tell a guesser which guess
was right. A right secret does not wipe the count, or anyone holding one project's secret
could guess another's between two right ones; a client is forgotten ``forget_after`` seconds
after its last wrong secret. At most ``clients`` addresses are remembered, the one that failed
longest ago forgotten first (~200 bytes each: 2 MB at the default 10,000).

Clients behind one address (a NAT, a proxy the server does not trust) share one count.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from utmost.errors import UtmostError


class TooManyFailuresError(UtmostError):
    """A client shut out for sending wrong secrets: answered 429 with ``Retry-After``."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many wrong secrets from this address: try again in {retry_after} s")


@dataclass(slots=True)
class _Failures:
    count: int = 0
    last: float = 0.0
    until: float = 0.0


class FailureLimit:
    """Per-client counts of wrong secrets; thread-safe (the dashboard's pages run on threads)."""

    def __init__(self, free: int = 10, first_wait: float = 1.0, longest_wait: float = 300.0,
                 forget_after: float = 900.0, clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.first_wait, self.longest_wait = free, first_wait, longest_wait
        self.forget_after, self.clients = forget_after, clients
        self._clock = clock
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Raise :class:`TooManyFailuresError` while ``client`` is shut out."""
        if not self._failures:  # nobody is failing: the usual case costs one test
            return
        with self._lock:
            failures = self._failures.get(client)
            if failures is None:
                return
            now = self._clock()
            if now < failures.until:
                raise TooManyFailuresError(math.ceil(failures.until - now))
            if now - failures.last > self.forget_after:
                del self._failures[client]

    def failed(self, client: str) -> None:
        """Count a wrong secret from ``client``; from the ``free``-th on, shut it out for a while."""
        with self._lock:
            now = self._clock()
            failures = self._failures.pop(client, None)
            if failures is None or now - failures.last > self.forget_after:
                failures = _Failures()
            failures.count += 1
            failures.last = now
            over = failures.count - self.free
            if over >= 0:
                failures.until = now + min(self.first_wait * 2 ** min(over, 32), self.longest_wait)
            self._failures[client] = failures  # last: the most recent failure
            while len(self._failures) > self.clients:
                self._failures.popitem(last=False)
