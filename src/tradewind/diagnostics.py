"""Where is a running server stuck? ``kill -USR1 <pid>`` writes every asyncio task's stack
to the log (the event loop must be free to do it); ``kill -USR2 <pid>`` writes every thread's
Python stack straight from the signal handler, even when the event loop itself is blocked.
Both go to stderr and leave the server running."""

from __future__ import annotations

import asyncio
import faulthandler
import io
import signal
import sys


def dump_tasks() -> str:
    """Every pending task of the running loop with its stack, innermost frame last."""
    out = io.StringIO()
    tasks = sorted(asyncio.all_tasks(), key=lambda t: t.get_name())
    out.write(f"--- {len(tasks)} asyncio tasks ---\n")
    for task in tasks:
        out.write(f"task {task.get_name()} ({task.get_coro()!r}):\n")
        task.print_stack(file=out)
    return out.getvalue()


def install_stack_dumps() -> None:
    """Register the two signals (POSIX only; a no-op elsewhere or off the main thread)."""
    if not hasattr(signal, "SIGUSR1"):
        return
    try:
        faulthandler.register(signal.SIGUSR2, file=sys.stderr, all_threads=True)
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGUSR1, lambda: print(dump_tasks(), file=sys.stderr, flush=True)
        )
    except (RuntimeError, ValueError, OSError):  # not the main thread, or stderr is no file
        pass  # (the tests' in-process apps)
