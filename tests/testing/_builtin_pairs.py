"""Built-in explainer x task pairs that ``check_compatible`` accepts, known at collection.

Loading a built-in task builds or reads a small model, and must wait until
``tests/conftest.py`` has pointed ``XAI_BENCH_CACHE`` at the session's directory, so
collection uses a declared profile of each task: exactly the attributes that
``check_compatible`` reads. ``test_task_profiles_match_the_builtin_tasks`` checks the
profiles against the loaded tasks, so a stale profile fails instead of hiding pairs.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, NamedTuple

from xai_bench.explainer import check_compatible
from xai_bench.registry import BUILTIN_EXPLAINERS, explainer_class
from xai_bench.task import Modality

TABULAR, IMAGE, TEXT, GENERATION = (
    Modality.TABULAR,
    Modality.IMAGE,
    Modality.TEXT,
    Modality.GENERATION,
)


class Profile(NamedTuple):
    """What ``check_compatible`` reads from a task (torch/sklearn model, has tokenizer, ...)."""

    modality: Modality
    torch: bool
    sklearn: bool
    tokenizer: bool
    ground_truth: bool
    background: bool
    regression: bool = False


PROFILES: dict[str, Profile] = {
    "breast_cancer.gbt": Profile(TABULAR, False, True, False, False, True),
    "breast_cancer.mlp": Profile(TABULAR, True, False, False, False, True),
    "digits.cnn": Profile(IMAGE, True, False, False, False, True),
    "shapes.cnn": Profile(IMAGE, True, False, False, True, True),
    "generation.tiny_gpt": Profile(GENERATION, True, False, True, False, False),
    "sentiment.tfidf": Profile(TEXT, False, True, True, True, True),
    "sentiment.transformer": Profile(TEXT, True, False, True, True, True),
    "synthetic.linear": Profile(TABULAR, True, False, False, True, True),
    "synthetic.regression": Profile(TABULAR, True, False, False, True, True, regression=True),
}


def profile_of(task: Any) -> Profile:
    """The profile of a loaded task."""
    return Profile(
        task.modality,
        bool(task.is_torch),
        bool(task.is_sklearn),
        task.tokenizer is not None,
        task.ground_truth is not None,
        task.background is not None,
        task.is_regression,
    )


def _stand_in(task_id: str) -> SimpleNamespace:
    p = PROFILES[task_id]
    present = True  # any non-None value: check_compatible only tests "is not None"
    return SimpleNamespace(
        modality=p.modality,
        is_torch=p.torch,
        is_sklearn=p.sklearn,
        tokenizer=present if p.tokenizer else None,
        ground_truth=present if p.ground_truth else None,
        background=present if p.background else None,
        is_regression=p.regression,
    )


def compatible(explainer_id: str, task_id: str) -> bool:
    """Whether ``check_compatible`` accepts the pair (declared capabilities only)."""
    caps = explainer_class(explainer_id).capabilities
    return check_compatible(caps, _stand_in(task_id)) is None  # type: ignore[arg-type]


def pairs(explainers: Any = BUILTIN_EXPLAINERS, tasks: Any = PROFILES) -> list[tuple[str, str]]:
    """Sorted ``(explainer_id, task_id)`` pairs that ``check_compatible`` accepts."""
    return [(e, t) for e in sorted(explainers) for t in sorted(tasks) if compatible(e, t)]
