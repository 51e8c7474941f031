"""The frozen clock of tests and rehearsals.

The frozen instant is a small file in the data directory, so every worker process of the
service reads the same time without touching the database (a database read inside every
``clock.now()`` would compete with the request's own transaction for connections).
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path

from reservations import clock

CLOCK_FILE = "frozen-clock"


class FrozenClock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / CLOCK_FILE
        self._file = str(self.path)
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._instant: datetime | None = None

    def start(self, instant: datetime) -> None:
        """Freeze at ``instant`` unless a rehearsal already moved the clock."""
        if not self.path.exists():
            self.move(instant)

    def move(self, instant: datetime) -> datetime:
        temporary = self.path.with_name(f".{CLOCK_FILE}.{os.getpid()}.{threading.get_ident()}")
        temporary.write_text(instant.isoformat())
        os.replace(temporary, self.path)  # atomic: readers see the old or the new instant
        return instant.astimezone(clock.zone())

    def __call__(self) -> datetime:
        # One stat() per reading; the file is read again only when it was replaced (a new
        # inode: ``move`` renames a new file into place), so a move made through any worker
        # shows in every worker at its next reading.
        status = os.stat(self._file)
        signature = (status.st_ino, status.st_mtime_ns, status.st_size)
        instant = self._instant
        if signature == self._seen and instant is not None:
            return instant
        with self._lock:
            if signature != self._seen or self._instant is None:
                self._instant = datetime.fromisoformat(self.path.read_text().strip())
                self._seen = signature
            return self._instant
