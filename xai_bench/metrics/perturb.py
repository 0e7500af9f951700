"""The one batched masking engine every perturbation metric uses.

Three steps, each vectorised:

1. :func:`rank_positions` ranks the features of every sample once (signed or absolute
   attribution, descending; ties broken by a seeded random key, never by column order;
   padding is ranked last and never removed).
2. :func:`grid_counts` turns fractions of features into per-sample feature counts.
3. :func:`masked_scores` builds the perturbed inputs for every (sample, count) pair in
   memory-bounded chunks (rank positions broadcast against counts, then a masker fills
   the removed cells), deduplicates pairs shared by several metrics, and scores them with
   as few large ``task.predict`` calls as possible, keeping only the target column.

Maskers (constant, background sample, text tokens, ROAD-style imputation) live in
:mod:`xai_bench.metrics.maskers`; ``baseline=`` parameters accept their names too.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from .._validation import by_task_columns
from ..errors import InvalidInputError
from ..explanation import Explanation
from ..task import PREDICTION, Modality, Task

__all__ = [
    "MAX_CHUNK_BYTES",
    "check_inputs",
    "grid_counts",
    "log_odds_eps",
    "masked_scores",
    "max_rows",
    "prepare",
    "rank_positions",
    "score_rows",
    "space_conventions",
    "scored_space",
    "stepwise_inputs",
    "tie_keys",
    "to_space",
    "work_array",
]

#: Upper bound on the bytes of perturbed inputs built at once: small enough to stay in
#: cache (large fresh arrays cost page faults), large enough for few model calls
#: (4 MiB: one call for a 256-sample, 31-step deletion of a 30-feature MLP).
MAX_CHUNK_BYTES = 4 * 2**20

#: Upper bound on the bytes of a torch model's activations per call (rows x the output
#: bytes of all its leaf modules for one row): conv nets with large feature maps run
#: ~1.5x faster in calls of ~1,000 rows than of ~4,000 (digits.cnn: 13.6 KB per row).
MAX_ACTIVATION_BYTES = 12 * 2**20

_ACTIVATION_BYTES: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()

ORDERS = ("signed", "abs")
SPACES = ("probability", "log_odds")
_EPS = 1e-7


def rank_positions(
    explanation: Explanation, *, order: str = "signed", seed: int = 0, X: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rank position of every feature (0 = removed first) and the valid-feature counts.

    Parameters
    ----------
    explanation : Explanation
    order : {"signed", "abs"}
        Sort by the signed attribution (most evidence for the target first) or by its
        magnitude, descending.
    seed : int
        Seeds the random tie-break key: equal attributions are ordered by a random
        permutation, never by column order.
    X : array, optional
        The explained inputs. The tie-break key of a feature is a hash of (seed, feature
        index, the sample's inputs and attributions), so a sample gets the same ranking
        whether it is scored alone or in any batch.

    Returns
    -------
    positions : ndarray of int32, shape (n, F)
        ``positions[i, j]`` is the step at which feature ``j`` of sample ``i`` is removed;
        invalid (padding) features get ``F`` so no count ever reaches them.
    n_valid : ndarray of int64, shape (n,)
    """
    if order not in ORDERS:
        raise InvalidInputError(f"order={order!r}", f"one of {ORDERS}", "Use order='signed'.")
    a, valid = explanation.flat(), explanation.flat_mask()
    n, F = a.shape
    key = np.abs(a) if order == "abs" else a
    primary = -key if explanation.mask is None else np.where(valid, -key, np.inf)
    ranked = np.argsort(primary, axis=1)  # exact without ties; tied rows are redone below
    row_start = np.arange(0, n * F, F)[:, None]
    flat = ranked + row_start  # flat index of each ranked cell
    ordered = primary.take(flat)
    same = ordered[:, 1:] == ordered[:, :-1]  # one cheap test first; ties among padding
    rows = np.empty(0, dtype=np.intp)  # (inf) are harmless
    if same.any():
        rows = np.flatnonzero((same & np.isfinite(ordered[:, 1:])).any(axis=1))
    if len(rows):  # only rows with ties need the random key (rare for real attributions)
        content = a[rows] if X is None else np.concatenate([a[rows], _as_f64(X, n)[rows]], 1)
        ranked[rows] = np.lexsort((tie_keys(content, F, seed), primary[rows]), axis=-1)
        flat = ranked + row_start
    positions = np.empty(n * F, dtype=np.int32)
    positions[flat] = np.arange(F, dtype=np.int32)
    positions = positions.reshape(n, F)
    if explanation.mask is not None:
        positions[~valid] = F
    return positions, valid.sum(axis=1).astype(np.int64)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorised (uint64 arithmetic wraps by design)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _as_f64(X: Any, n: int) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(X, dtype=np.float64).reshape(n, -1))


def tie_keys(content: np.ndarray, F: int, seed: int) -> np.ndarray:
    """Pseudo-random uint64 keys (n, F) from a per-row fingerprint of ``content``.

    Uniform, seeded and independent of the row's position in the batch.
    """
    n = len(content)
    bits = np.ascontiguousarray(content, dtype=np.float64).reshape(n, -1).view(np.uint64)
    salt = _mix(np.arange(bits.shape[1], dtype=np.uint64) + np.uint64(seed % 2**63))
    fingerprint = _mix(bits ^ salt[None, :]).sum(axis=1, dtype=np.uint64)
    return _mix(fingerprint[:, None] ^ salt[None, :F])


def grid_counts(fractions: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    """Number of features per sample at each fraction: ``round(fraction * n_valid)``.

    Rounds half up (1.5 -> 2), so a fraction grid and a top-k% list meet on the same
    counts. Returns int64 of shape (n, len(fractions)).
    """
    frac = np.asarray(fractions, dtype=np.float64)
    return np.floor(frac[None, :] * n_valid[:, None] + 0.5 + 1e-9).astype(np.int64)


def prepare(task: Task, X: Any, explanation: Explanation) -> tuple[np.ndarray, Explanation]:
    """Checked inputs, and the explanation masked to the task's features (and its
    targets as class indices when they were given as class names).

    On text, padding and special tokens are never ranked or removed, whatever the
    explanation's own mask says.
    """
    Xa = check_inputs(task, X, explanation)
    if explanation.targets.dtype.kind in "US":
        explanation = replace(explanation, targets=task.resolve_targets(Xa, explanation.targets))
    _check_targets(task, explanation.targets)  # after names became indices
    if task.modality in (Modality.TEXT, Modality.GENERATION):
        mask = task.valid_mask(Xa) & explanation.flat_mask().reshape(Xa.shape)
        explanation = replace(explanation, mask=mask)
    return Xa, explanation


def check_inputs(task: Task, X: Any, explanation: Explanation) -> np.ndarray:
    """X as an array matching the explanation's samples and the task's feature shape, with
    finite attributions (``prepare`` then checks the targets).

    A DataFrame's columns are put in the task's order by name, as ``explain`` does.
    Attributions with NaN or inf on a feature are refused (naming the rows): no score
    could say what they rank.
    """
    if task.modality is Modality.TABULAR:
        X = by_task_columns(X, task.feature_names)
    arr = np.array(X) if hasattr(X, "columns") else np.asarray(X)  # frames: a writable copy
    if arr.ndim < 2 or arr.shape[0] != explanation.n_samples:
        raise InvalidInputError(
            f"X with shape {arr.shape} for an explanation of {explanation.n_samples} samples",
            "the same rows that were explained",
            "Score the X you passed to explain().",
        )
    if arr.shape[1:] != explanation.feature_shape or arr.shape[1:] != task.feature_shape:
        raise InvalidInputError(
            f"X feature shape {arr.shape[1:]}, attributions {explanation.feature_shape}, "
            f"task {task.feature_shape}",
            "one attribution per input feature of the task",
            "Explain and score inputs of the same task.",
        )
    bad = np.flatnonzero((~np.isfinite(explanation.flat()) & explanation.flat_mask()).any(axis=1))
    if len(bad):
        raise InvalidInputError(
            f"attributions with NaN or inf in {len(bad)} row(s): {bad[:10].tolist()}",
            "finite attributions on every feature",
            "Fix the explainer, or score the other rows: "
            "explanation.subset(rows) with the matching X[rows].",
        )
    return arr


def _check_targets(task: Task, targets: np.ndarray) -> None:
    """Every target indexes an output of the model (-1 would silently read the last one)."""
    n_out = task.n_outputs
    bad = np.flatnonzero((targets < 0) | (targets >= n_out))
    if len(bad):
        raise InvalidInputError(
            f"explanation.targets {targets[bad][:5].tolist()} at rows {bad[:5].tolist()}",
            f"output indices in [0, {n_out - 1}] (the model of task {task.name!r} has "
            f"{n_out} outputs)",
            "Score an explanation of this task's model (explain(task, X, targets=None) "
            "explains the predicted class).",
        )


def to_space(p: np.ndarray, space: str, eps: float = _EPS) -> np.ndarray:
    """Target outputs in ``space``: unchanged (probability, a regressor's prediction), or
    log-odds ``log(p / (1 - p))`` with p clipped to ``[eps, 1 - eps]``."""
    if space in ("probability", PREDICTION):
        return p
    if space == "log_odds":
        q = np.clip(p, eps, 1 - eps)
        return np.log(q) - np.log1p(-q)
    raise InvalidInputError(f"space={space!r}", f"one of {SPACES}", "Use space='probability'.")


def scored_space(task: Task, space: str) -> str:
    """The space a metric scores on ``task``: ``space`` on a classifier; on a regressor the
    raw prediction (the default ``"probability"`` means the model's own output there)."""
    if space not in SPACES:
        raise InvalidInputError(f"space={space!r}", f"one of {SPACES}", "Use space='probability'.")
    if not task.is_regression:
        return space
    if space == "log_odds":
        raise InvalidInputError(
            f"space='log_odds' on regression task {task.name!r}",
            "a classifier (log-odds of a probability)",
            "Use the default space: a regressor is scored on its raw prediction.",
        )
    return PREDICTION


def log_odds_eps(task: Task) -> float:
    """The log-odds clip for ``task``: float32 resolution (1e-7), or 1e-15 for a float64
    torch model, whose saturated probabilities are exact to that level."""
    if task.is_torch:
        param = next(task.model.parameters(), None)
        if param is not None and str(param.dtype) == "torch.float64":
            return 1e-15
    return _EPS


#: Rows of the task's inputs whose predictions set a regressor's scale (``flat_tol``).
SCALE_ROWS = 256


def space_conventions(task: Task, space: str, flat_tol: float) -> dict[str, Any]:
    """Recorded conventions that depend on the task's output: the log-odds clip, and on a
    regressor no normalisation (raw prediction) with ``flat_tol`` in the prediction's
    units (relative to its spread)."""
    if space == "log_odds":
        return {"log_odds_clip": log_odds_eps(task)}
    if not task.is_regression:
        return {}
    scale = float(np.std(task.predict(task.X[:SCALE_ROWS])[:, 0]))
    return {
        "normalisation": "none: y is the raw prediction (AUC in its units, not in [0, 1]); "
        "compare explainers on the same task",
        "flat_tol": flat_tol * scale,
        "flat_tol_rule": f"{flat_tol} x the std of the prediction over the task's first "
        f"{SCALE_ROWS} inputs ({scale:.4g})",
    }


Fill = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def masked_scores(
    task: Task,
    X: np.ndarray,
    targets: np.ndarray,
    positions: np.ndarray,
    counts: np.ndarray,
    fill: Fill,
    *,
    keep_top: bool = False,
    max_bytes: int | None = None,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> np.ndarray:
    """Target probability of every perturbed input, shape like ``counts`` (n, S).

    For pair (i, s) the "top" set of sample i is its ``counts[i, s]`` first-ranked
    features. With ``keep_top=False`` (deletion, comprehensiveness) the top set is
    replaced; with ``keep_top=True`` (insertion, sufficiency) every other valid feature
    is replaced. Equal (i, count) pairs are scored once.

    Parameters
    ----------
    task, X
        The task and the explained inputs, (n, *feature_shape).
    targets : ndarray (n,)
        Output column scored for each sample.
    positions : ndarray (n, F)
        From :func:`rank_positions`.
    counts : ndarray of int (n, S)
    fill : callable
        ``fill(X_rows, removed, sample_index) -> perturbed rows``, all flat (m, F):
        a bound masker (see :mod:`xai_bench.metrics.maskers`). ``X_rows`` is a fresh
        copy that the fill may overwrite.
    max_bytes : int, optional
        Memory bound for the perturbed inputs built at once (default ``MAX_CHUNK_BYTES``).
    predict : callable, optional
        Scorer to use instead of ``task.predict`` (e.g. a call counter).
    """
    n, F = positions.shape
    counts = np.asarray(counts, dtype=np.int64)
    S = counts.shape[1]
    valid = positions < F
    if (counts == counts[:1]).all():
        # same counts for every sample (no padding): broadcast ranks against counts
        cols, inverse = np.unique(counts[0], return_inverse=True)
        out = _broadcast_scores(
            task, X, targets, positions, valid, cols, fill, keep_top, max_bytes, predict
        )
        return out[:, inverse]
    # one model row per distinct (sample, count) pair
    keys = np.arange(n, dtype=np.int64)[:, None] * (F + 1) + counts
    uniq, inverse = np.unique(keys.ravel(), return_inverse=True)
    rows_i, rows_c = np.divmod(uniq, F + 1)

    def removed(sl: slice) -> np.ndarray:
        i = rows_i[sl]
        top = positions[i] < rows_c[sl, None]
        return (valid[i] & ~top) if keep_top else top

    flat = score_rows(task, X, targets, rows_i, removed, fill, max_bytes=max_bytes, predict=predict)
    return flat[inverse].reshape(n, S)


def work_array(task: Task, X: Any) -> np.ndarray:
    """X flattened to (n, F), cast once to the torch model's float dtype when it has one.

    The torch scorer casts every batch to that dtype anyway, so building the perturbed
    inputs in it gives identical numbers with half the memory traffic.
    """
    arr = np.asarray(X)
    flat = arr.reshape(len(arr), -1)
    if flat.dtype.kind == "f" and task.is_torch:
        param = next(task.model.parameters(), None)
        if param is not None and param.is_floating_point():
            return flat.astype(str(param.dtype).removeprefix("torch."), copy=False)
    return flat


def max_rows(task: Task) -> int | None:
    """Rows per model call that keep a torch model's activations within
    ``MAX_ACTIVATION_BYTES``; None for other models (no bound).

    The activation size is measured once per model: one scored row with forward hooks
    on the leaf modules (deterministic: it depends on the architecture only).
    """
    if not task.is_torch:
        return None
    model = task.model
    if model not in _ACTIVATION_BYTES:
        sizes: list[int] = []

        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            if hasattr(output, "numel") and hasattr(output, "element_size"):
                sizes.append(int(output.numel()) * int(output.element_size()))

        leaves = [m for m in model.modules() if next(m.children(), None) is None]
        handles = [m.register_forward_hook(hook) for m in leaves]
        try:
            task.predict_proba(np.asarray(task.X[:1]))
        finally:
            for h in handles:
                h.remove()
        _ACTIVATION_BYTES[model] = max(1, sum(sizes))
    return max(1, MAX_ACTIVATION_BYTES // _ACTIVATION_BYTES[model])


def _broadcast_scores(
    task: Task,
    X: Any,
    targets: np.ndarray,
    positions: np.ndarray,
    valid: np.ndarray,
    cols: np.ndarray,
    fill: Fill,
    keep_top: bool,
    max_bytes: int | None,
    predict: Callable[[Any], np.ndarray] | None,
) -> np.ndarray:
    n, F = positions.shape
    Xf = work_array(task, X)
    predict = predict or task.predict
    S = len(cols)
    per_sample = max(1, S * F * (Xf.itemsize + 1))  # grid + removal mask
    block = max(1, int((max_bytes or MAX_CHUNK_BYTES) // per_sample))
    cap = max_rows(task)
    if cap is not None:  # one model call per block: a grid built just before its call stays
        block = min(block, max(1, cap // S))  # in cache (digits.cnn: 1.5x faster than 4 MiB)
    block = -(-n // -(-n // block))  # equal blocks: no small trailing model call
    cap = min(cap or S * block, S * block)
    cap = -(-S * block // -(-S * block // cap))  # a block's steps over > 1 call: equal calls
    out = np.empty((n, S), dtype=np.float64)
    cols32 = cols.astype(positions.dtype)
    feature_shape = np.shape(X)[1:]
    for start in range(0, n, block):
        sl = slice(start, min(n, start + block))
        m = sl.stop - start
        index = np.arange(start, sl.stop)
        if hasattr(fill, "replacement"):
            rep = fill.replacement(index, F, Xf.dtype)
            grid = stepwise_inputs(Xf[sl], rep, positions[sl], valid[sl], cols32, keep_top)
        else:
            # step-major rows (step, sample): the comparison runs over long contiguous
            # rows of m*F cells instead of m*S short rows of F (about 6x faster)
            top = positions[sl].reshape(1, m * F) < cols32[:, None]
            removed = (valid[sl].reshape(1, m * F) & ~top) if keep_top else top
            grid = fill(np.tile(Xf[sl], (S, 1)), removed.reshape(S * m, F), np.tile(index, S))
        grid = grid.reshape(S * m, *feature_shape)
        picked = np.empty(S * m, dtype=np.float64)
        row_targets = np.tile(targets[sl], S)
        for r in range(0, S * m, cap):
            probs = predict(grid[r : r + cap])
            picked[r : r + cap] = probs[np.arange(len(probs)), row_targets[r : r + cap]]
        out[sl] = picked.reshape(S, m).T
    return out


def stepwise_inputs(
    X: np.ndarray,
    replacement: np.ndarray,
    positions: np.ndarray,
    valid: np.ndarray,
    counts: np.ndarray,
    keep_top: bool,
) -> np.ndarray:
    """The perturbed inputs of every (count, sample) pair, step-major (S * m, F).

    For an elementwise masker (values ``replacement``: (F,) or (m, F)): the grid at the
    first count is built by one selection, and each later step copies the previous one
    and changes only the cells whose rank lies between the two counts (removed for
    deletion, restored for insertion). Identical to selecting every step from scratch,
    about 4x cheaper (each cell is written once per step instead of compared and
    selected). ``counts`` must be increasing.
    """
    m, F = X.shape
    rep = np.broadcast_to(replacement, (m, F))
    grid = np.empty((len(counts), m, F), dtype=X.dtype)
    top = positions < counts[0]
    grid[0] = np.where((valid & ~top) if keep_top else top, rep, X)
    # flat[r, i]: the flat cell of sample i's rank-r feature (row F gathers the padding)
    flat = np.empty((F + 1, m), dtype=np.intp)
    flat[positions.T, np.arange(m)[None, :]] = np.arange(m * F).reshape(m, F).T
    source = np.ascontiguousarray(X if keep_top else rep).reshape(-1)  # what a changed cell becomes
    steps = grid.reshape(len(counts), m * F)
    for s in range(1, len(counts)):
        steps[s] = steps[s - 1]
        cells = flat[counts[s - 1] : counts[s]].reshape(-1)
        steps[s][cells] = source[cells]
    return grid.reshape(len(counts) * m, F)


def score_rows(
    task: Task,
    X: np.ndarray,
    targets: np.ndarray,
    rows_i: np.ndarray,
    removed: Callable[[slice], np.ndarray],
    fill: Fill,
    *,
    max_bytes: int | None = None,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> np.ndarray:
    """Target probability of perturbed copies of samples ``rows_i``, built and scored in chunks.

    ``removed(slice)`` gives the (m, F) boolean removal mask of the rows in that slice of
    ``rows_i``; the bound masker ``fill`` turns it into inputs. Returns (len(rows_i),).
    """
    Xf = work_array(task, X)
    F = Xf.shape[1]
    predict = predict or task.predict
    per_row = max(1, F * (Xf.itemsize + 5))  # inputs + positions + mask
    chunk = max(1, int((max_bytes or MAX_CHUNK_BYTES) // per_row))
    chunk = min(chunk, max_rows(task) or chunk)
    out = np.empty(len(rows_i), dtype=np.float64)
    for start in range(0, len(rows_i), chunk):
        sl = slice(start, start + chunk)
        i = rows_i[sl]
        batch = fill(Xf[i], removed(sl), i).reshape(len(i), *np.shape(X)[1:])
        probs = predict(batch)
        out[sl] = probs[np.arange(len(i)), targets[i]]
    return out
