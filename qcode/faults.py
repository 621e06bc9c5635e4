"""Test-only crash points. With QCODE_FAULT_AT=<point> (or <point>:<n>, the n-th time it
is reached) the process kills itself with SIGKILL there, so tests can show that nothing
half-written survives a crash. Each point sits at the end of a write transaction, after
every write and before the commit: the worst moment to die. Outside tests the variable
is unset and a point costs one lookup in os.environ."""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "QCODE_FAULT_AT"
POINTS = ("import", "codebook-sync", "suggest", "review-accept", "tag-import", "doc-update",
          "project-import")
_reached: Counter = Counter()


def point(name: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    _reached[name] += 1
    if wanted in (name, f"{name}:{_reached[name]}"):
        os.kill(os.getpid(), signal.SIGKILL)
