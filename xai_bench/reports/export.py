"""The numbers behind the report, embedded so a reader can download them as CSV or JSON.

The report's script turns this data into files in the browser (``Blob`` + object URL), so
the HTML stays self-contained. Per-sample scores are grouped by (task, explainer, metric,
seed), which writes each name once per group instead of once per score.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from . import tables as T

# about 25 bytes per score: some 40 000 scores, so a report with them stays under 2 MB
MAX_SCORE_BYTES = 1_000_000
SCORE_FIELDS = ("task", "explainer", "metric", "sample", "seed", "score")
SUMMARY_FIELDS = (
    "task",
    "explainer",
    "role",
    "metric",
    "higher_is_better",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "rank",
    "mean_rank",
    "p_vs_best",
    "significant_vs_best",
    "p_vs_random",
    "significant_vs_random",
    "n_tested",
    "n_needed",
    "verdict",
    "vs_random",
    "outcome",
    "recommended",
    "sanity",
    "sanity_failed",
    "seconds_per_explanation",
)


def _plain(v: Any) -> Any:
    """A JSON value: numpy scalars unwrapped, NaN and missing as ``None``."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return None
    if isinstance(v, bool | int | float | str):
        return v
    return None if pd.isna(v) else str(v)


def role(explainer: str) -> str:
    """``control`` (random), ``reference`` (oracle) or ``method``."""
    if explainer in T.CONTROLS:
        return "control"
    return "reference" if explainer in T.REFERENCES else "method"


def score_groups(scores: pd.DataFrame) -> list[dict[str, Any]]:
    """Per-sample scores as ``{task, explainer, metric, seed, sample: [...], score: [...]}``."""
    if not len(scores):
        return []
    df = scores.sort_values(["task", "explainer", "metric", "seed", "sample"], kind="stable")
    out = []
    for (t, e, m, s), g in df.groupby(["task", "explainer", "metric", "seed"], sort=False):
        out.append(
            {
                "task": str(t),
                "explainer": str(e),
                "metric": str(m),
                "seed": int(s),
                "sample": [int(x) for x in g["sample"]],
                "score": [_plain(float(x)) for x in g["score"]],
            }
        )
    return out


def summary_table(summary: pd.DataFrame, directions: dict[str, bool]) -> dict[str, Any]:
    """Per (task, explainer, metric): mean, 95% CI, rank (1 = best) and tests, as
    ``{columns, rows}``. ``rank`` orders the means within (task, metric) by the metric's
    direction, ties sharing the better rank; ``mean_rank`` is the per-sample rank averaged
    (from the summary, when it has one)."""
    rows: list[list[Any]] = []
    if len(summary):
        df = summary.copy()
        df["higher_is_better"] = df["metric"].map(directions)
        df["role"] = df["explainer"].map(role)
        df["rank"] = np.nan
        for _, sub in df.groupby(["task", "metric"], sort=False):
            hib = bool(sub["higher_is_better"].iloc[0])
            df.loc[sub.index, "rank"] = sub["mean"].rank(ascending=not hib, method="min")
        df = df.sort_values(["task", "metric", "rank", "explainer"], na_position="last")
        for _, r in df.iterrows():
            rows.append([_plain(r[c]) if c in r.index else None for c in SUMMARY_FIELDS])
            k = SUMMARY_FIELDS.index("rank")
            rows[-1][k] = None if rows[-1][k] is None else int(rows[-1][k])
    return {"columns": list(SUMMARY_FIELDS), "rows": rows}


def export_data(
    results: Any,
    summary: pd.DataFrame,
    directions: dict[str, bool],
    max_score_bytes: int | None = None,
) -> dict:
    """Everything the download buttons offer, ready for ``|tojson``.

    Per-sample scores larger than ``max_score_bytes`` (default ``MAX_SCORE_BYTES``) as
    JSON are left out, so the report stays under 2 MB; ``scores_omitted`` then counts
    them, and the summary remains.
    """
    groups = score_groups(results.scores)
    room = len(json.dumps(groups, separators=(",", ":"))) <= (max_score_bytes or MAX_SCORE_BYTES)
    return {
        "score_fields": list(SCORE_FIELDS),
        "scores": groups if room else [],
        "scores_omitted": 0 if room else len(results.scores),
        "summary": summary_table(summary, directions),
    }


# cells a spreadsheet would run as a formula (the report's script escapes the same ones)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that starts like a formula prefixed by ``'``."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v
            )
    return out
