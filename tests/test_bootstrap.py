"""What a served worker does once it is ready."""

from __future__ import annotations

import gc

from reservations.bootstrap import GC_YOUNG_THRESHOLD, settle_worker_memory


def test_a_ready_worker_freezes_what_it_built_and_collects_young_objects_less_often() -> None:
    before = gc.get_threshold()
    gc.unfreeze()
    try:
        settle_worker_memory()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
