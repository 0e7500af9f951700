"""Optional dependencies: import them late, and name the extra when missing."""

from __future__ import annotations

import importlib
from functools import cache
from importlib import metadata
from types import ModuleType

from .errors import MissingDependencyError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(module, extra, exc) from exc


@cache
def version(distribution: str) -> str:
    """Installed version of ``distribution``, or ``"unknown"``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"
