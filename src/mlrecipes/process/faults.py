"""Named crash points for the crash-consistency tests.

Every place where durable state changes in a way a later command must recover from has a name;
a test sets ``MLRECIPES_FAULT_POINT`` to one of them and the process kills itself there with
SIGKILL (no handler, no cleanup: a power cut as far as the registry and the tables can tell).
Unset, as everywhere but those tests, a fault point is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

FAULT_POINT_ENV = "MLRECIPES_FAULT_POINT"


def fault_point(name: str) -> None:
    if os.environ.get(FAULT_POINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
