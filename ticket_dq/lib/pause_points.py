"""Named points where a process can be made to stop, so crash-safety tests can SIGKILL a real run
exactly there (between writes that must commit together, or right after a commit).

With ``TICKET_DQ_PAUSE_AT=<name>`` set, the process that reaches ``pause_point(<name>)`` writes the name
into ``TICKET_DQ_PAUSE_FILE`` and waits to be killed. Unset (always, outside those tests), it does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ticket_dq import settings


def pause_point(name: str) -> None:
    if settings.env("TICKET_DQ_PAUSE_AT") != name:
        return
    marker = settings.env("TICKET_DQ_PAUSE_FILE")
    if marker:
        # Written beside and renamed into place, so a watcher that sees the file also sees its text.
        staged = Path(f"{marker}.tmp")
        staged.write_text(name, encoding="utf-8")
        os.replace(staged, marker)
    while True:  # the test kills this process; it never resumes
        time.sleep(1)
