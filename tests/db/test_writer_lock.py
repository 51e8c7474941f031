"""SQLite writers of all processes queue on one lock file, in the kernel."""

from __future__ import annotations

import threading
from pathlib import Path

from reservations.db import WriterLock


def test_a_writer_waits_for_the_holder_in_another_open_of_the_lock_file(tmp_path: Path) -> None:
    # Two WriterLocks open the file separately, as two worker processes do: flock locks
    # belong to the open file, so they exclude each other exactly as processes do.
    path = tmp_path / "write.lock"
    holder, waiter = WriterLock(path), WriterLock(path)
    acquired = threading.Event()
    try:
        assert holder.acquire()

        def wait_for_it() -> None:
            assert waiter.acquire()
            acquired.set()

        thread = threading.Thread(target=wait_for_it)
        thread.start()
        # While the holder holds it, the other never gets it.
        assert not acquired.wait(timeout=0.3)
        holder.release()
        assert acquired.wait(timeout=10)
        thread.join(timeout=10)
        waiter.release()
        # And it is free again for the first.
        assert holder.acquire(timeout=10)
        holder.release()
    finally:
        holder.close()
        waiter.close()


def test_threads_of_one_process_queue_before_the_file(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "write.lock")
    try:
        assert lock.acquire()
        # Another thread of the same process must not slip in through the shared file.
        assert not lock.acquire(timeout=0.2)
        lock.release()
        assert lock.acquire(timeout=1)
        lock.release()
    finally:
        lock.close()
