"""The container image and the compose file stay in step with the code.

There is no container engine on the test machines, so these read the files: every
``RESERVATIONS_*`` variable is a setting, every command is one the CLI knows, ports and the
Python version agree, and the build context holds what ``pip install .`` needs: the wheel
built from exactly what the Dockerfile copies carries the templates, rules and migrations.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from packaging.specifiers import SpecifierSet

from reservations.cli import build_parser
from reservations.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
PREFIX = "RESERVATIONS_"


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DOCKER / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def instruction(name: str) -> list[str]:
    return [rest for keyword, rest in dockerfile() if keyword == name]


def exec_form(text: str) -> list[str]:
    value = json.loads(text)
    assert isinstance(value, list), "exec form (JSON array), so signals reach the service"
    return [str(part) for part in value]


def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())  # type: ignore[no-any-return]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def settings_variables() -> set[str]:
    return {PREFIX + name.upper() for name in Settings.model_fields}


def serve_args(command: list[str]) -> Any:
    assert command[:2] == ["reservations", "serve"], command
    return build_parser().parse_args(command[1:])


def test_the_image_runs_the_supported_python_as_a_user_with_a_data_volume() -> None:
    (base,) = instruction("FROM")
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim", base)
    assert match, base
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f"{match[1]}.{match[2]}" in SpecifierSet(requires)
    user = instruction("USER")
    assert user and user[-1] not in ("root", "0")
    env = " ".join(instruction("ENV"))
    assert "RESERVATIONS_DATA_DIR=/data" in env
    assert exec_form(instruction("VOLUME")[0]) == ["/data"]
    assert "/data" in " ".join(instruction("RUN")) and "chown" in " ".join(instruction("RUN"))


def test_the_image_command_is_the_cli_and_matches_its_port() -> None:
    args = serve_args(exec_form(instruction("CMD")[-1]))
    assert args.host == "0.0.0.0"
    assert instruction("EXPOSE") == [str(args.port)]
    healthcheck = instruction("HEALTHCHECK")[0]
    assert f"127.0.0.1:{args.port}/health" in healthcheck


def test_the_image_installs_the_package_non_editable() -> None:
    runs = " ".join(instruction("RUN"))
    assert re.search(r"pip install (--\S+ )*\.( |$)", runs), runs
    assert "-e ." not in runs and "--editable" not in runs


def build_context(tmp_path: Path) -> Path:
    """What the Dockerfile copies, through .dockerignore, laid out as in the image."""
    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def is_ignored(relative: str) -> bool:
        for pattern in ignored:
            bare = pattern.removeprefix("**/")
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(Path(relative).name, bare):
                return True
            if relative == pattern or relative.startswith(pattern.rstrip("/") + "/"):
                return True
            if any(fnmatch.fnmatch(part, bare) for part in Path(relative).parts):
                return True
        return False

    context = tmp_path / "context"
    context.mkdir()
    for copy in instruction("COPY"):
        *sources, destination = shlex.split(copy)
        assert not any(source.startswith("--from") for source in sources)
        for source in sources:
            origin = REPO / source
            assert origin.exists(), f"COPY {source}: not in the repository"
            target = context / destination if destination.endswith("/") else context
            files = [origin] if origin.is_file() else sorted(origin.rglob("*"))
            for path in files:
                if not path.is_file():
                    continue
                relative = path.relative_to(REPO).as_posix()
                if is_ignored(relative):
                    continue
                inside = path.name if origin.is_file() else path.relative_to(origin).as_posix()
                copied = target / inside
                copied.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copied)
    return context


@pytest.mark.slow
def test_the_wheel_built_from_the_image_context_carries_everything(tmp_path: Path) -> None:
    context = build_context(tmp_path)
    assert not (context / "tests").exists()
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(wheels),
            str(context),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("reservations-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "reservations/_templates/base.html",
        "reservations/_templates/static/pow.js",
        "reservations/_config/museum.toml",
        "reservations/migrations/env.py",
        "reservations/migrations/script.py.mako",
        "reservations/cli.py",
    ):
        assert required in names, required
    assert any(re.match(r"reservations/migrations/versions/0001_.*\.py$", n) for n in names)
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert (
        "reservations = reservations.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    )
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert "Requires-Dist: redis" in zipfile.ZipFile(wheel).read(metadata).decode()


def test_the_build_context_leaves_out_secrets_and_state() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "data", "docker/.env", "tests"):
        assert entry in ignored, entry
    assert ".env" in (DOCKER / ".gitignore").read_text().split()


def test_every_variable_compose_sets_is_a_setting() -> None:
    known = settings_variables()
    services = compose()["services"]
    used = {name for service in services.values() for name in environment(service)}
    reservations_variables = {name for name in used if name.startswith(PREFIX)}
    assert reservations_variables, "the app is configured through its settings"
    assert reservations_variables <= known, reservations_variables - known
    example = (DOCKER / "example.env").read_text().splitlines()
    listed = {line.split("=", 1)[0] for line in example if "=" in line and not line.startswith("#")}
    assert {name for name in listed if name.startswith(PREFIX)} <= known


def test_compose_runs_app_replicas_on_postgres_and_redis() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"].split(":")[1].startswith("7")
    app = services["app"]
    assert app["deploy"]["replicas"] >= 2
    assert app["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    env = environment(app)
    assert env["RESERVATIONS_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["RESERVATIONS_DATABASE_URL"]
    assert env["RESERVATIONS_REDIS_URL"] == "redis://redis:6379/0"
    assert env["RESERVATIONS_RATE_LIMITS"] == "on"
    for dependency in ("postgres", "redis"):
        assert app["depends_on"][dependency]["condition"] == "service_healthy"
        assert services[dependency]["healthcheck"]["test"]
    assert app["healthcheck"]["test"]
    # Every replica shares one data volume (ticket signing keys) at the data directory.
    assert f"app-data:{env['RESERVATIONS_DATA_DIR']}" in app["volumes"]
    assert "app-data" in compose()["volumes"]


def test_compose_holds_no_secret_of_its_own() -> None:
    services = compose()["services"]
    for service in services.values():
        for name, value in environment(service).items():
            if any(word in name for word in ("SECRET", "PASSWORD")) or "password" in value:
                secrets = re.findall(r"\$\{(\w+)(:[?-][^}]*)?\}", value)
                assert secrets, f"{name} must come from docker/.env, not the compose file"
                for secret_name, fallback in secrets:
                    if "SECRET" in secret_name or "PASSWORD" in secret_name:
                        assert fallback.startswith(":?"), f"{secret_name} must be required"
    assert all(
        line.endswith("=") or ("PASSWORD" not in line and "SECRET" not in line)
        for line in (DOCKER / "example.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    ), "the example leaves secrets empty"


def test_the_app_command_is_the_cli_behind_the_proxy() -> None:
    services = compose()["services"]
    args = serve_args([str(part) for part in services["app"]["command"]])
    assert args.host == "0.0.0.0"
    assert args.workers >= 1
    env = environment(services["app"])
    # Only the proxy reaches the app: its forwarded address and scheme are believed.
    assert env["RESERVATIONS_TRUSTED_PROXIES"] == "*", "rate limits need each visitor's address"
    assert str(args.port) in services["app"]["healthcheck"]["test"][-1]
    nginx = (DOCKER / "nginx.conf").read_text()
    assert "set $app_servers http://${APP_UPSTREAM};" in nginx
    assert environment(services["proxy"])["APP_UPSTREAM"] == f"app:{args.port}"
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "proxy_add_x_forwarded_for" not in nginx, "a client could forge its address"
    assert "proxy_set_header X-Forwarded-Proto $visitor_scheme;" in nginx
    assert "map $http_x_forwarded_proto $visitor_scheme" in nginx
    (published,) = services["proxy"]["ports"]
    assert published.endswith(":80") and "listen 80;" in nginx
    mounted, inside = services["proxy"]["volumes"][0].split(":")[:2]
    assert (DOCKER / mounted).resolve() == DOCKER / "nginx.conf"
    # The nginx image fills templates in from the environment into conf.d at start.
    assert inside == "/etc/nginx/templates/default.conf.template"


def test_the_healthcheck_path_answers(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
