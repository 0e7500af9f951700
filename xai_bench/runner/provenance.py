"""Run provenance: library versions, machine, git hash. Read without importing the libraries."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

from .._deps import version

LIBRARIES = (
    "xai-bench",
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "torch",
    "shap",
    "lime",
    "eli5",
    "captum",
    "inseq",
    "transformers",
    "joblib",
    "dask",
    "distributed",
)


def git_hash(path: str | None = None) -> str | None:
    """The current commit of the working directory's repository, if any."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def collect() -> dict[str, Any]:
    return {
        "versions": {lib: version(lib) for lib in LIBRARIES},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "git": git_hash(),
    }
