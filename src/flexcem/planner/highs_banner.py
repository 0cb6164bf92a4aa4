"""Keep HiGHS's start-up banner off standard output.

HiGHS writes "Running HiGHS … Copyright …" to the C-level standard output when the first solver of a process
is created, whatever its options say. That would corrupt a plan written to stdout and clutter every demo, so
the first solver is created once with file descriptor 1 pointed at /dev/null.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading

import highspy

__all__ = ["silence_banner"]

_lock = threading.Lock()
_done = False


def silence_banner() -> None:
    """Create the process's first HiGHS solver with stdout muted (only once per process)."""
    global _done
    with _lock:
        if _done:
            return
        _done = True
        with contextlib.suppress(OSError, ValueError):  # no real stdout (some embedders): nothing to guard
            sys.stdout.flush()
        try:
            saved = os.dup(1)
        except OSError:
            highspy.Highs()  # type: ignore[no-untyped-call]
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            highspy.Highs()  # type: ignore[no-untyped-call]
            with contextlib.suppress(OSError, AttributeError):  # no C runtime handle on some platforms
                ctypes.CDLL(None).fflush(None)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
