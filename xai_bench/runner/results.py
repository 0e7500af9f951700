"""Results: the tidy outcome of a Benchmark run, with statistics and report output."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import stats
from .load import CURVE_COLUMNS, EXPLANATION_COLUMNS, FAILURE_COLUMNS, SCORE_COLUMNS, read_run

__all__ = ["Results"]

SUMMARY_VIEW = ["task", "explainer", "metric", "n", "mean", "ci_low", "ci_high", "mean_rank"]


@dataclass
class Results:
    """What a run produced. Every table is a tidy pandas DataFrame.

    Attributes
    ----------
    scores : DataFrame
        One row per (task, explainer, metric, sample, seed) with ``score``; extra
        boolean flag columns (``degenerate``, ``flat_baseline``...) may follow.
    curves : DataFrame
        Long format: one row per curve point (``step``, ``x``, ``y``).
    explanations : DataFrame
        Cost and flags per explained sample (``seconds``, ``model_calls``, ``degenerate``).
    failures : DataFrame
        Failed, timed-out, crashed and skipped jobs, with ``status`` and ``reason``.
    attributions : dict
        ``(task, explainer, seed) -> Explanation`` for per-sample views.
    tasks : dict
        ``task -> info`` used by reports: modality, feature_names, class_names,
        ``X`` (evaluated inputs), ``tokens`` (text), ``ground_truth``.
    metric_info : dict
        ``metric -> {higher_is_better, range, description, reference, params}``.
    provenance : dict
        Config, library versions, seeds, machine, start time and duration.
    jobs : DataFrame
        One row per job: kind, status, seconds, model calls and the process ids it ran in.

    Examples
    --------
    >>> bench = xb.Benchmark(["synthetic.linear"], ["oracle"], ["deletion_auc"],
    ...                      n_samples=4, progress=False)
    >>> results = bench.run(backend="local")  # the ``random`` control is always added
    >>> results.scores[["explainer", "metric"]].drop_duplicates().values.tolist()
    [['oracle', 'deletion_auc'], ['random', 'deletion_auc']]
    """

    scores: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCORE_COLUMNS))
    curves: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CURVE_COLUMNS))
    explanations: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=EXPLANATION_COLUMNS)
    )
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FAILURE_COLUMNS))
    attributions: dict[tuple[str, str, int], Any] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    metric_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    jobs: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def load(cls, store: Any, run_id: str | None = None) -> Results:
        """Read a run back from a results store (path or Store); default: the latest run."""
        from .store import Store

        if isinstance(store, Store):
            return cls(**read_run(store, run_id))
        if not Path(store).is_file():
            from ..errors import StoreError

            raise StoreError(
                f"no results store at {str(store)!r}; expected the SQLite file"
                " written by `xai-bench run` (see its --store option)."
            )
        with Store(store) as db:
            return cls(**read_run(db, run_id))

    def __repr__(self) -> str:  # one line, never the tables themselves
        s, f = self.scores, self.failures
        status = f["status"].value_counts() if "status" in f else pd.Series(dtype=int)
        parts = [
            f"run {self.provenance.get('run_id', '(not stored)')!r}",
            *(f"{s[c].nunique()} {c}s" for c in ("task", "explainer", "metric") if c in s),
            f"{len(s):,} scores",
            *(f"{n} {k}" for k, n in sorted(status.items())),
        ]
        return f"Results({', '.join(parts)})"

    def _repr_html_(self) -> str:
        """The summary table (mean, 95% CI, mean rank), escaped by pandas."""
        from html import escape

        table = self.summary()
        shown = [c for c in SUMMARY_VIEW if c in table.columns]
        return f"<p>{escape(repr(self))}</p>" + table[shown].to_html(
            index=False, escape=True, float_format=lambda v: f"{v:.4g}", na_rep="–"
        )

    def to_frame(self) -> pd.DataFrame:
        """Tidy scores: one row per (task, explainer, metric, sample, seed)."""
        return self.scores.copy()

    def summary(self, **kwargs: Any) -> pd.DataFrame:
        """Per (task, explainer, metric): mean, median, 95% CI, tests and ranks."""
        return stats.summarize(self, **kwargs)

    def rank_stability(self, across: str = "seed") -> pd.DataFrame:
        """Does the leaderboard hold across seeds (``"seed"``) or metric variants (``"metric"``)?

        Mean pairwise Kendall tau between leaderboards, per task and metric.
        """
        return stats.rank_stability(self, across=across)

    def to_html(
        self, path: str | Path, *, interactive: bool = False, summary: pd.DataFrame | None = None
    ) -> Path:
        """Write the self-contained HTML comparison report to ``path`` (``summary``: this
        run's ``summary()`` if already computed, to skip computing it again)."""
        from ..reports import render_report

        return render_report(self, path, interactive=interactive, summary=summary)
