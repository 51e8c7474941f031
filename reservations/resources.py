"""Where the files shipped beside the code are: templates, config, static assets.

In a source checkout they sit at the top of the repository; an installed wheel carries
them inside the package (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    inside = _PACKAGE_DIR / f"_{name}"
    if inside.is_dir():
        return inside
    beside = _PACKAGE_DIR.parent / name
    if beside.is_dir():
        return beside
    raise FileNotFoundError(f"cannot find the {name}/ folder shipped with reservations")


def templates_dir() -> Path:
    return _find("templates")


def config_dir() -> Path:
    return _find("config")


def static_dir() -> Path:
    return templates_dir() / "static"


def migrations_dir() -> Path:
    return _PACKAGE_DIR / "migrations"
