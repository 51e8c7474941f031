"""The API documents each status field with a literal list, so that its contract reads the
same as before statuses became ``StrEnum``s; these lists must say exactly what the enums
hold, or a new status would be stored but refused or undocumented in answers."""

from __future__ import annotations

from typing import get_args

from reservations.jobs.models import RunOutcome, RunTrigger
from reservations.jobs.router import JobRunOut
from reservations.waitlist.models import WaitingStatus
from reservations.waitlist.schemas import EntryStatus


def test_waiting_entries_answer_every_status_an_entry_can_have() -> None:
    assert get_args(EntryStatus) == tuple(WaitingStatus)


def test_job_runs_answer_every_trigger_and_outcome() -> None:
    fields = JobRunOut.model_fields
    assert get_args(fields["trigger"].annotation) == tuple(RunTrigger)
    assert get_args(fields["outcome"].annotation) == tuple(RunOutcome)
