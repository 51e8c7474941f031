"""Every table, registered on the metadata for migrations: each domain package's ``models``."""

from __future__ import annotations

import importlib
import pkgutil

import reservations


def import_all() -> list[str]:
    imported = []
    for module in pkgutil.iter_modules(reservations.__path__):
        if module.ispkg:
            name = f"reservations.{module.name}.models"
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            imported.append(name)
    return imported


import_all()
