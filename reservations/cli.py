"""``reservations serve`` and ``reservations run-job``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from reservations.bootstrap import WORKER_ENV, prepare
from reservations.jobs.commands import add_job_commands
from reservations.ops import backup as ops_backup
from reservations.ops import metrics
from reservations.ops.commands import add_ops_commands
from reservations.rehearsal import separation
from reservations.settings import explain, get_settings, reset_settings_cache
from reservations.tickets.commands import add_key_commands


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    if not args.access_log:
        # Read by every worker's settings (the service writes its own access log).
        os.environ["RESERVATIONS_ACCESS_LOG"] = "off"
        reset_settings_cache()
    prepare()
    settings = get_settings()
    # Before any worker starts: where their metrics meet, emptied of an earlier run's.
    metrics.prepare_directory(settings)
    # `reservations restore` waits for this to go: never a restore under a running service.
    ops_backup.hold_service_lock(settings.data_dir)
    os.environ[WORKER_ENV] = "1"
    uvicorn.run(
        "reservations.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # Forwarded headers are the app's to trust (RESERVATIONS_TRUSTED_PROXIES), in every
        # way it is served; uvicorn would otherwise believe them from loopback.
        proxy_headers=False,
        log_level=args.log_level,
        # uvicorn's access log writes the whole request line, secrets included; the service
        # writes its own (reservations.logs).
        access_log=False,
        # A worker importing the app on a busy machine can take more than uvicorn's default
        # five seconds to answer its first health check; it is not dead.
        timeout_worker_healthcheck=60,
        # Longer than a load balancer's idle timeout, so the server is not the one that
        # closes a kept-alive connection while a request is on its way.
        timeout_keep_alive=75,
    )
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    prepare()
    return 0


def _rehearsal_copy(args: argparse.Namespace) -> int:
    settings = get_settings()
    if settings.fake_now is not None:
        raise separation.MixedClocks(
            "run rehearsal-copy with the real service's settings (without RESERVATIONS_FAKE_NOW)"
        )
    copy = separation.make_copy(settings, Path(args.target), args.database_url)
    start = f"RESERVATIONS_DATA_DIR={copy.data_dir}"
    if copy.database_url is not None:
        start += " RESERVATIONS_DATABASE_URL=<the copy's address>"
    print(f"rehearsal copy ready in {copy.data_dir}; it signs tickets with a key of its own.")
    print(f"start the rehearsal with: {start} RESERVATIONS_FAKE_NOW=<instant> reservations serve")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reservations", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="write no access log (same as RESERVATIONS_ACCESS_LOG=off)",
    )
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations and seed the rules")
    migrate.set_defaults(handler=_migrate)
    copy = commands.add_parser(
        "rehearsal-copy",
        help="copy the real data (directory and database) for a rehearsal with a fake clock",
    )
    copy.add_argument("target", help="a new directory for the copy's data")
    copy.add_argument(
        "--database-url",
        help="PostgreSQL: the copy made with createdb -T (marked as a rehearsal's here)",
    )
    copy.set_defaults(handler=_rehearsal_copy)
    add_key_commands(commands)
    add_job_commands(commands)
    add_ops_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        get_settings()  # refuse to start on settings that are not valid, before anything
        result: int = args.handler(args)
    except ValidationError as exc:
        print(f"reservations: {explain(exc)}", file=sys.stderr)
        return 2
    except separation.MixedClocks as refusal:
        print(f"reservations: {refusal}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
