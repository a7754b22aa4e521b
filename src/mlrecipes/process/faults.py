"""Named crash points for the crash-consistency tests.

Every place where durable state changes in a way a later command must recover from has a name;
a test sets ``MLRECIPES_FAULT_POINT`` to one of them and the process kills itself there with
SIGKILL (no handler, no cleanup: a power cut as far as the registry and the tables can tell).
``NAME:stop`` stops the process there instead (SIGSTOP), so a test can do something at exactly
that instant (signal the command, kill a server) and then let it go on with SIGCONT, rather than
polling for a file and racing the step past the point it meant to hit.
Unset, as everywhere but those tests, a fault point is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

FAULT_POINT_ENV = "MLRECIPES_FAULT_POINT"


def fault_point(name: str) -> None:
    wanted = os.environ.get(FAULT_POINT_ENV)
    if not wanted:
        return
    point, _, action = wanted.partition(":")
    if point == name:
        os.kill(os.getpid(), signal.SIGSTOP if action == "stop" else signal.SIGKILL)
