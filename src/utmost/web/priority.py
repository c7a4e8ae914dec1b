"""Questions give way to the collector: ``utmost serve``'s questions run at a lower CPU priority.

On two cores a dashboard question, with the refresh of the derived tables it starts, kept both
cores busy, and the collector's requests waited for it. So the threads that answer questions
(:class:`utmost.web.service.Service`'s pool, its background rebuilds) run at a lower priority
(nice ``LOWER_NICE``) than the threads that answer the collector (the event loop, the writer,
its checkpoint and its mover): on an idle machine a question has the CPU as before; while
requests arrive, they are served first. Linux only: elsewhere a thread keeps its priority.

A thread cannot be given its priority back without privileges, so only threads that do
nothing else are lowered. DuckDB's own worker threads are not: they also run the writer's
inserts, which then waited for them (lowered too, ``/import`` alone made 69,000-73,000 events/s
against 86,000-89,000).
"""

from __future__ import annotations

import os
import sys
import threading

#: The nice value of the threads that give way (0 is the default; 19 the lowest priority).
#: Linux's scheduler then gives a busy thread at 0 about nine times the CPU of one at 10.
LOWER_NICE = 10


def lower_this_thread() -> None:
    """Run the calling thread at ``LOWER_NICE`` from now on (a thread pool's initializer)."""
    if sys.platform != "linux":  # elsewhere setpriority's PRIO_PROCESS names a process, not a thread
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWER_NICE)
    except OSError:  # not allowed here (a sandbox): the thread keeps its priority
        pass
