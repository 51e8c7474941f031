"""``reservations run-job NAME`` and ``reservations run-job --due``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from reservations.jobs.models import JobRun, RunOutcome, RunTrigger
from reservations.jobs.registry import JOBS


def add_job_commands(commands: Any) -> None:
    parser = commands.add_parser(
        "run-job",
        help="run a job now, or with --due every scheduled job that is due and has not run",
        description=(
            "Run a job now with the service's clock (NAME), or, with --due, run each job's "
            "latest scheduled occurrence unless it already ran: exactly once across machines, "
            "for deployments that run jobs from cron (RESERVATIONS_SCHEDULER=off)."
        ),
    )
    parser.add_argument("name", nargs="?", choices=list(JOBS), metavar="NAME")
    parser.add_argument("--due", action="store_true", help="run the due occurrences")
    parser.set_defaults(handler=_run_job, parser=parser)


def _describe(run: JobRun) -> dict[str, Any]:
    return {
        "job": run.name,
        "occurrence": run.occurrence,
        "outcome": run.outcome,
        "result": run.result,
    }


def _run_job(args: argparse.Namespace) -> int:
    if bool(args.name) == bool(args.due):
        args.parser.error(f"give a job name ({', '.join(JOBS)}) or --due")
    from reservations.bootstrap import prepare
    from reservations.jobs import runner

    # A rehearsal's clock stays where the rehearsal moved it.
    prepare(reset_clock=False)
    holder = f"command:{runner.holder_name()}"
    if args.due:
        runs = runner.run_due(holder)
        print(json.dumps({"runs": [_describe(run) for run in runs]}, ensure_ascii=False))
        return 1 if any(run.outcome == RunOutcome.FAILED for run in runs) else 0
    run = runner.run_now(args.name, trigger=RunTrigger.COMMAND, holder=holder)
    print(json.dumps(_describe(run), ensure_ascii=False))
    return 1 if run.outcome == RunOutcome.FAILED else 0
