"""The benchmark's py-spy profiles, layer by layer: ``python -m tests.benchmarks.profiles DIR``.

``run.py --profile DIR`` writes one file of collapsed stacks per server, configuration,
scenario and worker process (``floor-sqlite-x2-booking-1234.txt``), sampled only while a
thread holds the interpreter lock. Each sample is counted for the innermost frame that
belongs to a known layer (a library, a package of the service, the floor's own code), so
a driver call made from SQLAlchemy counts for SQLAlchemy, one made from the floor's code
for the floor (calls into C code have no frame of their own).

For each configuration and scenario, the floor and the service side by side: the share of
the interpreter's time per layer and, where the number of answers is known (after a run),
milliseconds of interpreter time per answer, and what the service spends beyond the floor.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

# py-spy's sampling rate (run.py), per second and process: one sample stands for SAMPLE_MS.
RATE = 250
SAMPLE_MS = 1000 / RATE
_FILE = re.compile(
    r"^(?P<server>floor|service)-(?P<database>\w+?)-x(?P<workers>\d+)-(?P<scenario>\w+)-\d+\.txt$"
)
_FRAME_FILE = re.compile(r"\(([^()]*):\d+\)\s*$")
# The first component of a frame's file, as py-spy writes it, and the layer it belongs to.
_LAYERS = {
    "uvicorn": "uvicorn",
    "httptools": "uvicorn",
    "starlette": "Starlette",
    "fastapi": "FastAPI",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    # FastAPI's telemetry: the OpenTelemetry API's namespace packages.
    "opentelemetry": "OpenTelemetry",
    "trace": "OpenTelemetry",
    "context": "OpenTelemetry",
    "metrics": "OpenTelemetry",
    "_logs": "OpenTelemetry",
    "anyio": "event loop and threads",
    "asyncio": "event loop and threads",
    "concurrent": "event loop and threads",
    "threading.py": "event loop and threads",
    "queue.py": "event loop and threads",
    "selectors.py": "event loop and threads",
    "contextvars": "event loop and threads",
    "sqlalchemy": "SQLAlchemy",
    "sqlmodel": "SQLAlchemy",
    "psycopg": "psycopg",
    "psycopg_pool": "psycopg",
    "sqlite3": "sqlite3",
    "cryptography": "cryptography",
    "json": "json",
    "logging": "logging",
    "prometheus_client": "prometheus_client",
    "jinja2": "jinja2",
}


def layer_of(path: str) -> str | None:
    """The layer of a frame's file, or None for one that is no known layer's own."""
    if path.startswith("tests/benchmarks/floor"):
        return "the floor's own code"
    if path.startswith("reservations/"):
        return "reservations." + path.split("/")[1].removesuffix(".py")
    return _LAYERS.get(path.split("/")[0])


def layers(path: Path) -> Counter[str]:
    """Samples per layer in one file of collapsed stacks."""
    counted: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        found = "other"
        for frame in reversed(stack.split(";")):
            match = _FRAME_FILE.search(frame)
            layer = layer_of(match[1]) if match else None
            if layer is not None:
                found = layer
                break
        counted[found] += int(count)
    return counted


Key = tuple[str, str, int, str]  # server, database, workers, scenario


def collect(directory: Path) -> dict[Key, Counter[str]]:
    """Samples per layer for each server, configuration and scenario, its workers added up."""
    found: dict[Key, Counter[str]] = {}
    for path in sorted(directory.glob("*.txt")):
        match = _FILE.match(path.name)
        if match is None:
            continue
        key = (match["server"], match["database"], int(match["workers"]), match["scenario"])
        found.setdefault(key, Counter()).update(layers(path))
    return found


def summarise(directory: Path, answers: dict[Key, int] | None = None) -> str:
    """Markdown: per configuration and scenario, the floor's and the service's layers."""
    found = collect(directory)
    answers = answers or {}
    out: list[str] = []
    configurations = dict.fromkeys((key[1], key[2], key[3]) for key in found)
    for database, workers, scenario in configurations:
        floor = found.get(("floor", database, workers, scenario), Counter())
        service = found.get(("service", database, workers, scenario), Counter())
        floor_answers = answers.get(("floor", database, workers, scenario), 0)
        service_answers = answers.get(("service", database, workers, scenario), 0)
        per_answer = bool(service_answers) and (not floor or bool(floor_answers))
        columns = ["floor", "service"] if floor else ["service"]
        out.append(f"### {database} ×{workers}, {scenario}\n")
        header = "| layer | " + " | ".join(f"{name} %" for name in columns) + " |"
        if per_answer:
            header += " " + " | ".join(f"{name} ms/answer" for name in columns) + " |"
            header += " service − floor ms |" if floor else ""
        out += [header, "|---|" + "---:|" * (header.count("|") - 2)]
        floor_total, service_total = sum(floor.values()), sum(service.values())
        order = sorted(
            set(floor) | set(service), key=lambda layer: (-service[layer] - floor[layer], layer)
        )
        for layer in [*order, "all"]:
            floor_samples = floor_total if layer == "all" else floor[layer]
            service_samples = service_total if layer == "all" else service[layer]
            cells = [_share(service_samples, service_total)]
            if floor:
                cells.insert(0, _share(floor_samples, floor_total))
            if per_answer:
                service_ms = service_samples * SAMPLE_MS / service_answers
                if floor:
                    floor_ms = floor_samples * SAMPLE_MS / floor_answers
                    cells += [
                        f"{floor_ms:.2f}",
                        f"{service_ms:.2f}",
                        f"{service_ms - floor_ms:+.2f}",
                    ]
                else:
                    cells.append(f"{service_ms:.2f}")
            out.append(f"| {layer} | " + " | ".join(cells) + " |")
        samples = (
            f"floor {floor_total:,}, service {service_total:,}" if floor else f"{service_total:,}"
        )
        out.append(f"\nSamples: {samples}.\n")
    return "\n".join(out)


def _share(samples: int, total: int) -> str:
    return f"{100 * samples / total:.1f}" if total else "–"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.profiles", description=__doc__
    )
    parser.add_argument("directory", type=Path, help="what run.py --profile wrote")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="the run's benchmark.json: with the number of answers, ms per answer too",
    )
    args = parser.parse_args(argv)
    answers: dict[Key, int] = {}
    if args.results is not None:
        for row in json.loads(args.results.read_text()):
            key = (row["server"], row["database"], row["workers"], row["key"])
            answers[key] = row["requests"]
    print(summarise(args.directory, answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
