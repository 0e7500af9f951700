"""Per-sample views (by modality) and the agreement between explainers.

A sample is a row of the explained batch: ``Results.attributions[(task, explainer, seed)]``
row ``i`` explains ``Results.tasks[task]["X"][i]`` and scores with ``sample == i``.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from . import svg
from .tables import CONTROLS, REFERENCES, finite

TOP_FEATURES = 10
# top-k overlap: k = 20% of a sample's valid features (6 of 30 tabular features, 13 of 64
# pixels, 1-3 of 3-13 tokens): small enough to mean "the important ones", large enough
# that one swapped feature does not move the score from 1 to 0
TOPK_FRACTION = 0.2
PICKS = (
    ("best", "Best explained"),
    ("worst", "Worst explained"),
    ("disagree", "Most disagreement"),
)


def explanations_for(results: Any, task: str) -> tuple[int | None, dict[str, Any]]:
    """The lowest seed of ``task`` and its explanations per explainer, on common samples.

    A run with failed, interrupted or skipped jobs leaves explainers with different
    samples; every explanation returned covers the same samples, in the same order
    (``meta["samples"]``, see :func:`sample_ids`). Explainers are taken most complete
    first, and one that shares no sample with those already taken is left out.
    """
    seeds = sorted({s for (t, _e, s) in results.attributions if t == task})
    if not seeds:
        return None, {}
    seed = seeds[0]
    own = {e: x for (t, e, s), x in sorted(results.attributions.items()) if t == task and s == seed}
    common: set[int] | None = None
    for e in sorted(own, key=lambda e: -len(sample_ids(own[e]))):
        ids = set(sample_ids(own[e]).tolist())
        if common is None or common & ids:
            common = ids if common is None else common & ids
    keep = np.array(sorted(common or ()), dtype=int)
    out = {}
    for e, x in own.items():
        rows = sample_ids(x)
        if set(keep.tolist()) <= set(rows.tolist()):
            row = {int(s): r for r, s in enumerate(rows)}
            sub = x.subset(np.array([row[int(s)] for s in keep], dtype=int))
            out[e] = replace(sub, meta={**x.meta, "samples": keep.tolist()})
    return seed, out


def sample_ids(expl: Any) -> np.ndarray:
    """The sample ids of an explanation's rows: ``meta["samples"]``, else 0..n-1 (also
    when a ``subset()`` left ``meta`` describing other rows)."""
    ids = expl.meta.get("samples")
    if ids is None or len(ids) != expl.n_samples:
        return np.arange(expl.n_samples)
    return np.asarray(ids, dtype=int)


def _row(expls: dict[str, Any], i: int) -> int:
    """The row that sample ``i`` has in every explanation from :func:`explanations_for`."""
    ids = sample_ids(next(iter(expls.values()))).tolist()
    return ids.index(i)


def _rank_rows(a: np.ndarray, m: np.ndarray) -> list[np.ndarray]:
    from scipy.stats import rankdata  # here, not at the top: scipy.stats costs ~1 s to import

    return [rankdata(row[mask]) for row, mask in zip(a, m, strict=True)]


def _corr(r1: np.ndarray, r2: np.ndarray) -> float:
    if len(r1) < 2 or r1.std() == 0 or r2.std() == 0:
        return np.nan
    return float(np.corrcoef(r1, r2)[0, 1])


def spearman_per_sample(expls: dict[str, Any]) -> dict[tuple[str, str], np.ndarray]:
    """Spearman rank correlation between every pair of explainers, per sample."""
    n = min(x.n_samples for x in expls.values())
    ranks = {e: _rank_rows(x.flat()[:n], x.flat_mask()[:n]) for e, x in expls.items()}
    return {
        (a, b): np.array(
            [
                _corr(p, q) if len(p) == len(q) else np.nan
                for p, q in zip(ranks[a], ranks[b], strict=True)
            ]
        )
        for a, b in combinations(expls, 2)
    }


def agreement(expls: dict[str, Any], method: str = "spearman") -> pd.DataFrame:
    """Mean per-sample agreement between explainers: a rank correlation of the signed
    attributions, or ``topk``, the share of the top ``TOPK_FRACTION`` features by magnitude."""
    from ..metrics.agreement import agreement_matrix

    return agreement_matrix(expls, method=method, order="signed", k=TOPK_FRACTION)


def topk_sizes(expls: dict[str, Any]) -> dict[str, Any]:
    """The k of the top-k overlap and the valid features per sample (each as "lo–hi" or
    one number), and ``chance``: the mean k / m two random rankings would share."""
    valid = np.logical_and.reduce([x.flat_mask() for x in expls.values()]).sum(axis=1)
    k = np.clip(np.round(TOPK_FRACTION * valid), 1, None)
    used = k < valid  # the overlap is NaN where the top k are all the features
    span = lambda v: f"{v.min():.0f}" if v.min() == v.max() else f"{v.min():.0f}–{v.max():.0f}"  # noqa: E731
    return {
        "k": span(k),
        "m": span(valid),
        "chance": float(np.mean(k[used] / valid[used])) if used.any() else np.nan,
    }


def disagreement(expls: dict[str, Any]) -> np.ndarray | None:
    """Per sample: 1 − mean pairwise Spearman among non-control explainers."""
    real = {e: x for e, x in expls.items() if e not in CONTROLS + REFERENCES}
    if len(real) < 2:
        return None
    pairs = np.vstack(list(spearman_per_sample(real).values()))
    with np.errstate(all="ignore"):
        return 1 - np.nanmean(np.where(np.isfinite(pairs), pairs, 0.0), axis=0)


def pick_samples(
    scores: pd.DataFrame, expls: dict[str, Any], best_expl: str | None, hib: bool
) -> list[dict[str, Any]]:
    """Best / worst sample for ``best_expl`` on the primary metric, and most disagreement.

    Samples are ids (as in ``scores``), among those ``expls`` all explain."""
    ids = sample_ids(next(iter(expls.values())))
    own = scores[scores["explainer"] == best_expl] if best_expl else scores.iloc[:0]
    own = own[own["sample"].astype(int).isin(ids)].dropna(subset=["score"])
    picks = []
    if len(own):
        order = own.sort_values("score", ascending=not hib)
        picks += [
            ("best", int(order["sample"].iloc[0]), float(order["score"].iloc[0])),
            ("worst", int(order["sample"].iloc[-1]), float(order["score"].iloc[-1])),
        ]
    else:
        picks += [("best", int(ids[0]), np.nan), ("worst", int(ids[-1]), np.nan)]
    dis = disagreement(expls)
    if dis is not None and np.isfinite(dis).any():
        r = int(np.nanargmax(dis))
        picks.append(("disagree", int(ids[r]), float(dis[r])))
    else:
        picks.append(("disagree", picks[0][1], np.nan))
    labels = dict(PICKS)
    return [
        {
            "key": k,
            "label": labels[k],
            "sample": i,
            "value": v,
            "disagreement": None if dis is None else float(dis[_row(expls, i)]),
        }
        for k, i, v in picks
    ]


def _class_name(info: dict, k: Any) -> str:
    names = info.get("class_names")
    try:
        return str(names[int(k)]) if names is not None else str(k)
    except (IndexError, TypeError, ValueError):
        return str(k)


def sample_view(info: dict, expls: dict[str, Any], i: int, sample_scores: dict) -> dict:
    """Everything the template needs to draw sample ``i`` (an id) of one task."""
    modality = str(info.get("modality", "tabular"))
    first = next(iter(expls.values()))
    r = _row(expls, i)
    view: dict[str, Any] = {
        "sample": i,
        "modality": modality,
        "target": _class_name(info, first.targets[r]),
    }
    y = info.get("y")
    if modality == "generation":
        view["target"] = generated_tokens(info, _n_task(info, expls))[i]
    elif y is not None and i < len(y):
        view["true"] = _class_name(info, y[i])
    cols = [{"explainer": e, "score": sample_scores.get(e)} for e in expls]
    view["columns"] = cols
    if modality == "tabular":
        view["rows"] = _tabular_rows(info, expls, i, r)
    elif modality == "image":
        view["images"] = _image_maps(info, expls, i, r)
        view["outlined"] = any("truth-halo" in str(im["svg"]) for im in view["images"])
    else:
        view["texts"] = _token_rows(info, expls, i, r)
        if modality == "generation":
            view["matrices"] = _generation_matrices(info, expls, i)
    return view


def _n_task(info: dict, expls: dict[str, Any]) -> int:
    """Samples of the task (ids run from 0 to this)."""
    return max(
        int(info.get("n_samples") or 0), int(sample_ids(next(iter(expls.values()))).max()) + 1
    )


def _tabular_rows(info: dict, expls: dict[str, Any], i: int, r: int) -> list[dict]:
    a = np.vstack([x.flat()[r] for x in expls.values()])  # (n_expl, F)
    scale = np.abs(a).max(axis=1)
    names = list(info.get("feature_names") or [f"feature {j}" for j in range(a.shape[1])])
    X = info.get("X")
    values = np.asarray(X)[i].reshape(-1) if X is not None else None
    norm = np.abs(a) / np.where(scale > 0, scale, 1)[:, None]
    order = np.argsort(-norm.mean(axis=0), kind="stable")
    rows = []
    for j in order[:TOP_FEATURES]:
        rows.append(
            {
                "name": names[j] if j < len(names) else f"feature {j}",
                "value": None if values is None else float(values[j]),
                "cells": [
                    {"v": float(a[k, j]), "bar": svg.hbar(a[k, j], scale[k])} for k in range(len(a))
                ],
            }
        )
    rest = order[TOP_FEATURES:]
    if len(rest):
        s = a[:, rest].sum(axis=1)
        rows.append(
            {
                "name": f"{len(rest)} other features (sum)",
                "value": None,
                "other": True,
                "cells": [
                    {"v": float(s[k]), "bar": svg.hbar(s[k], scale[k] or abs(s[k]))}
                    for k in range(len(a))
                ],
            }
        )
    return rows


def _as_image(arr: np.ndarray) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float64)
    while a.ndim > 2:  # channels first or last: average them
        a = a.mean(axis=0) if a.shape[0] <= 4 else a.mean(axis=-1)
    if a.ndim == 1:
        side = int(round(np.sqrt(a.size)))
        a = a.reshape(side, -1) if side * side == a.size else a[None, :]
    return a


def _channels_last(a: np.ndarray) -> np.ndarray | None:
    """A 3-channel image as (H, W, 3), channels first or last; None otherwise."""
    if a.ndim != 3:
        return None
    if a.shape[0] == 3:
        return np.moveaxis(a, 0, -1)
    return a if a.shape[-1] == 3 else None


def _rgb(x: np.ndarray) -> np.ndarray | None:
    """A colour input scaled to [0, 1] for drawing (None for grayscale)."""
    a = _channels_last(np.asarray(x, dtype=np.float64))
    if a is None:
        return None
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    return a if lo >= 0 and hi <= 1 else (a - lo) / (hi - lo or 1.0)


def true_mask(info: dict, i: int, shape: tuple[int, ...]) -> np.ndarray | None:
    """Sample ``i``'s ground-truth mask as a boolean image of ``shape`` (any channel
    marked), when the task has a per-sample pixel mask; None otherwise."""
    gt = info.get("ground_truth")
    if gt is None:
        return None
    gt = np.asarray(gt)
    if gt.ndim < 3 or i >= len(gt):
        return None  # not per-sample pixel masks (e.g. one feature list for the task)
    m = np.asarray(gt[i]) != 0
    while m.ndim > 2:  # channels first or last, as _as_image reads them
        m = m.any(axis=0) if m.shape[0] <= 4 else m.any(axis=-1)
    return m if m.shape == shape else None


def _image_maps(info: dict, expls: dict[str, Any], i: int, r: int) -> list[dict]:
    img, mask, out = None, None, []
    if info.get("X") is not None:
        x = np.asarray(info["X"])[i]
        img = _as_image(x)
        mask = true_mask(info, i, img.shape)
        drawn = svg.image_map(img, None, title="input", outline=mask, rgb=_rgb(x))
        out.append({"label": "input", "svg": drawn})
    for e, ex in expls.items():
        att = _as_image(ex.attributions[r])
        base = img if img is not None and img.shape == att.shape else np.zeros_like(att)
        own = mask if mask is not None and mask.shape == att.shape else None
        out.append(
            {
                "label": e,
                "explainer": e,
                "svg": svg.image_map(base, att, title=f"{e} attribution", outline=own),
            }
        )
    return out


def _tokens(info: dict, i: int, n: int) -> list[str]:
    toks = info.get("tokens")
    if toks is not None and i < len(toks):
        return [str(t) for t in toks[i]]
    return [f"#{k}" for k in range(n)]


def _token_rows(info: dict, expls: dict[str, Any], i: int, r: int) -> list[dict]:
    rows = []
    for e, x in expls.items():
        a, m = x.flat()[r], x.flat_mask()[r]
        vals = a[m]
        toks = _tokens(info, i, len(vals))
        scale = float(np.abs(vals).max()) if len(vals) else 1.0
        scale = scale or 1.0
        rows.append(
            {
                "explainer": e,
                "tokens": [
                    {
                        "text": t,
                        "v": float(v),
                        "bg": svg.diverging(v / scale),
                        "dark": abs(v / scale) > 0.55,
                    }
                    for t, v in zip(toks, vals, strict=False)
                ],
            }
        )
    return rows


def sequences(info: dict, n: int) -> list[Any]:
    """The sequence each generation unit belongs to: ``info["sequence"]``, else the
    task's ``meta["units"]`` ((sequence, step) pairs), else one sequence per unit."""
    seq = info.get("sequence")
    if seq is None:
        units = (info.get("meta") or {}).get("units")
        seq = [u[0] for u in units] if units is not None else None
    return list(seq)[:n] if seq is not None and len(seq) >= n else list(range(n))


def generated_tokens(info: dict, n: int) -> list[str]:
    """The token each generation unit predicts: ``info["target_tokens"]`` when given,
    else the last prefix token of the next unit of the same sequence, else its id."""
    given = info.get("target_tokens")
    if given is not None and len(given) >= n:
        return [str(t) for t in given[:n]]
    seq, toks, y = sequences(info, n), info.get("tokens"), info.get("y")
    out = []
    for k in range(n):
        if toks is not None and k + 1 < min(n, len(toks)) and seq[k + 1] == seq[k]:
            out.append(str(toks[k + 1][-1]))
        else:
            out.append(f"id {y[k]}" if y is not None and k < len(y) else f"step {k}")
    return out


def _generation_matrices(info: dict, expls: dict[str, Any], i: int) -> list[dict]:
    """Prefix × generated-token matrix for the sequence that step ``i`` belongs to.

    Rows are the steps of the same sequence (see :func:`sequences`), columns the
    prefix positions; each row is normalised to Σ|a| = 1.
    """
    ids = sample_ids(next(iter(expls.values())))
    n = _n_task(info, expls)
    seq = sequences(info, n)
    steps = [k for k in range(len(ids)) if seq[ids[k]] == seq[i]]  # rows of this sequence
    gen = generated_tokens(info, n)
    out = []
    for e, x in expls.items():
        width = int(max(x.flat_mask()[k].sum() for k in steps))
        mat = np.full((len(steps), width), np.nan)
        for r, k in enumerate(steps):
            v = x.flat()[k][x.flat_mask()[k]]
            tot = np.abs(v).sum() or 1.0
            mat[r, : len(v)] = v / tot
        longest = max(steps, key=lambda k: x.flat_mask()[k].sum())
        cols = _tokens(info, int(ids[longest]), width)
        rows = [gen[ids[k]] for k in steps]
        out.append(
            {
                "explainer": e,
                "svg": svg.heatmap(
                    mat,
                    rows,
                    cols,
                    title=f"{e}: {'attention' if 'attention' in e else 'attribution'}, "
                    "prefix × generated token",
                    xlabel="prefix token",
                    ylabel="generated token",
                    signed=True,
                    annotate=False,
                    cell=24,
                    label_width=110,
                ),
            }
        )
    return out


def sample_scores(scores: pd.DataFrame, task: str, metric: str, seed: int | None) -> dict:
    """sample -> explainer -> score, for the primary metric and the view's seed."""
    sub = scores[(scores["task"] == task) & (scores["metric"] == metric)]
    if seed is not None and "seed" in sub:
        sub = sub[sub["seed"] == seed]
    out: dict[int, dict[str, float]] = {}
    for s, e, v in zip(sub["sample"], sub["explainer"], sub["score"], strict=True):
        if finite(v):
            out.setdefault(int(s), {})[e] = float(v)
    return out
