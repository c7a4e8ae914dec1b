"""A lowered thread runs at the lower priority from then on; the thread that started it does not."""

from __future__ import annotations

import os
import threading

from conftest import needs_thread_priorities

from utmost.web.priority import LOWER_NICE, lower_this_thread


@needs_thread_priorities
def test_a_lowered_thread_runs_at_the_lower_nice_and_its_caller_does_not():
    seen: list[int] = []

    def lowered() -> None:
        lower_this_thread()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=lowered)
    thread.start()
    thread.join()
    assert seen == [LOWER_NICE]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == os.getpriority(os.PRIO_PROCESS, 0) < LOWER_NICE
