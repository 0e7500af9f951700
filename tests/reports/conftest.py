"""Report fixtures: real small benchmark runs per modality, and Playwright on Debian's chromium.

Browser tests skip only when chromium is absent AND ``XAI_BENCH_REQUIRE_BROWSER`` is
unset; with the variable set (CI) a missing browser fails them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import xai_bench as xb

CHROMIUM = os.environ.get("XAI_BENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# the cheapest task of each modality we know; others are found through list_tasks()
PREFERRED = {"tabular": "breast_cancer.mlp", "image": "digits.cnn", "text": "sentiment.transformer"}
EXPLAINERS: list[Any] = [
    "random",
    "oracle",
    "captum.integrated_gradients",
    "captum.saliency",
    "captum.feature_ablation",
    "captum.occlusion",
    "captum.layer_integrated_gradients",
    ("shap.kernel", {"n_samples": 32}),
    ("lime.tabular", {"n_samples": 50}),
]
HOSTILE_STRINGS = (
    "</script><script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
)
METRICS = [("deletion_auc", {"steps": 8}), ("insertion_auc", {"steps": 8})]


def run_benchmark(tasks: list[Any], explainers: list[Any], n_samples: int = 8) -> Any:
    """A real in-process Benchmark run (the runner skips incompatible pairs)."""
    return xb.Benchmark(
        tasks=tasks,
        explainers=explainers,
        metrics=METRICS,
        n_samples=n_samples,
        seed=0,
        progress=False,
    ).run(backend="local")


def task_for(modality: str) -> str | None:
    """A registered task id of ``modality`` (preferring the cheap known ones)."""
    ids = xb.list_tasks()
    if PREFERRED.get(modality) in ids:
        return PREFERRED[modality]
    # ids named after the modality first, so that finding one loads few tasks
    for tid in sorted(ids, key=lambda t: not t.startswith(modality)):
        if tid in PREFERRED.values():
            continue
        if str(xb.load_task(tid).modality) == modality:
            return tid
    return None


def explainers_for(modality: str) -> list[Any]:
    extra = [e for e in xb.list_explainers() if e.startswith("inseq.")][:3]
    return EXPLAINERS + (extra if modality == "generation" else [])


def only_task(results: Any, task: str) -> Any:
    """The part of ``results`` about one task."""
    from dataclasses import replace

    def pick(df: Any) -> Any:
        return df[df["task"] == task].reset_index(drop=True) if "task" in df else df

    return replace(
        results,
        scores=pick(results.scores),
        curves=pick(results.curves),
        explanations=pick(results.explanations),
        failures=pick(results.failures),
        attributions={k: v for k, v in results.attributions.items() if k[0] == task},
        tasks={task: results.tasks[task]},
    )


@pytest.fixture(scope="session")
def modality_results(default_suite_results: Any) -> Any:
    """modality -> Results of one task of that modality: its slice of the default suite
    when the suite has one (with two or more scored explainers), else a small run of
    the task ``task_for(modality)`` finds through ``xb.list_tasks()``."""
    cache: dict[str, Any] = {}

    def get(modality: str) -> Any:
        if modality not in cache:
            suite = default_suite_results
            for task, info in suite.tasks.items():
                scored = suite.scores.loc[suite.scores["task"] == task, "explainer"].nunique()
                if str(info.get("modality")) == modality and scored >= 2:
                    cache[modality] = only_task(suite, task)
                    return cache[modality]
            tid = task_for(modality)
            if tid is None:
                pytest.skip(f"no {modality} task registered yet (xb.list_tasks())")
            cache[modality] = run_benchmark([tid], explainers_for(modality))
        return cache[modality]

    return get


@pytest.fixture(scope="session")
def hostile() -> tuple[str, ...]:
    return HOSTILE_STRINGS


@pytest.fixture(scope="session")
def bench() -> Any:
    return run_benchmark


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def default_suite_results() -> Any:
    """The built-in default suite (`xai-bench run`), at its --quick size."""
    from xai_bench.runner.config import load_config

    return load_config(quick=True).benchmark(progress=False).run(backend="local")


@pytest.fixture(scope="session")
def tabular_results(modality_results: Any) -> Any:
    return modality_results("tabular")


# -- browser -----------------------------------------------------------------------------
def _browser_available() -> bool:
    return os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright's launch options: Debian's chromium, offline-friendly flags."""
    if not _browser_available():
        message = f"chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("XAI_BENCH_REQUIRE_BROWSER"):
            pytest.fail(message + "; XAI_BENCH_REQUIRE_BROWSER is set, so this is an error")
        pytest.skip(message)
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


class PageWatch:
    """Console errors, page errors, dialogs and every non-file/data request (aborted)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)
        page.route("**/*", self._route)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.requests.append(url)
            route.abort()

    def open(self, path: Path) -> Any:
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")
        return self.page


@pytest.fixture
def watched(page: Any) -> PageWatch:
    return PageWatch(page)
