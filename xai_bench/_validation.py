"""Input checks shared by tasks, adapters and metrics: found / expected / fix."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidInputError


def as_feature_matrix(X: Any, what: str = "X") -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Numeric float array from ndarray or DataFrame, plus column names if any.

    Rejects empty input, object/string columns and NaN/inf, naming where they are.
    """
    names: tuple[str, ...] | None = None
    if hasattr(X, "columns") and hasattr(X, "dtypes"):  # pandas DataFrame
        names = tuple(str(c) for c in X.columns)
        bad = [str(c) for c, dt in zip(X.columns, X.dtypes, strict=True) if not _numeric(dt)]
        if bad:
            raise InvalidInputError(
                f"{what} has non-numeric columns {bad}",
                "a numeric matrix",
                "Encode categorical/string columns first (e.g. sklearn OneHotEncoder or "
                "OrdinalEncoder) and pass the encoded matrix.",
            )
        X = X.to_numpy()
    arr = np.asarray(X)
    check_real(arr, what)
    if arr.dtype == object or arr.dtype.kind in "USO":
        cols = _object_columns(arr)
        raise InvalidInputError(
            f"{what} has dtype {arr.dtype} (non-numeric values in columns {cols})",
            "a numeric matrix",
            "Encode categorical/string columns first (e.g. OneHotEncoder) and pass floats.",
        )
    if arr.ndim == 1:
        raise InvalidInputError(
            f"{what} is 1-D with shape {arr.shape}",
            "a 2-D array (n_samples, n_features)",
            "Reshape with X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample.",
        )
    if arr.shape[0] == 0 or arr.size == 0:
        raise InvalidInputError(
            f"{what} is empty (shape {arr.shape})", "at least one sample", "Pass a non-empty batch."
        )
    arr = arr.astype(np.float64, copy=False)
    check_finite(arr, what)
    return arr, names


def check_finite(arr: np.ndarray, what: str) -> None:
    """Raise naming the first non-finite cell (row, column)."""
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)
        first = tuple(int(i) for i in where[0])
        raise InvalidInputError(
            f"{what} has {int(bad.sum())} NaN/inf value(s), first at index {first}"
            f" (row {first[0]}" + (f", column {first[1]})" if len(first) > 1 else ")"),
            "finite numbers",
            "Impute or drop the missing values before explaining "
            "(e.g. sklearn SimpleImputer), or fix the model producing them.",
        )


def _numeric(dtype: Any) -> bool:
    try:
        return np.dtype(dtype).kind in "biuf"
    except TypeError:  # pandas extension dtypes (category, string)
        return False


def _object_columns(arr: np.ndarray) -> list[int]:
    if arr.ndim != 2:
        return []
    out = []
    for j in range(arr.shape[1]):
        try:
            arr[:, j].astype(np.float64)
        except (TypeError, ValueError):
            out.append(j)
    return out


OUTPUT_KINDS = ("classification", "binary_logit", "regression")
_ONE_SCORE_FIX = (
    "Pass the model's predict_proba (not predict). A single score per row is explained "
    "only when you say what it is: output_kind='binary_logit' (one logit of a binary "
    "classifier) or output_kind='regression' (Task.from_torch: output=...)."
)


def check_output_kind(kind: Any) -> str:
    """``kind`` as one of ``OUTPUT_KINDS``, else a clear error."""
    if str(kind) not in OUTPUT_KINDS:
        raise InvalidInputError(
            f"output_kind={kind!r}", f"one of {OUTPUT_KINDS}", "Say what the model outputs."
        )
    return str(kind)


def check_scores(out: Any, n_rows: int, source: str = "predict") -> np.ndarray:
    """Validate a one-output scorer (a logit or a regression value): finite float (n_rows,)."""
    arr = np.asarray(out)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise InvalidInputError(
            f"{source} returned shape {arr.shape} for {n_rows} input rows",
            f"one value per row: shape ({n_rows},) or ({n_rows}, 1)",
            "Return the model's single output per row; class probabilities need "
            "output_kind='classification'.",
        )
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(
            f"{source} returned dtype {arr.dtype}", "numbers", "Return a numeric array."
        )
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        check_finite(arr, f"{source} output")
    return arr


def check_probabilities(out: Any, n_rows: int, source: str = "predict_proba") -> np.ndarray:
    """Validate a batched scorer's output: float (n_rows, n_classes) probabilities, k >= 2."""
    arr = np.asarray(out)
    if arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1):
        kind = "integer labels" if arr.dtype.kind in "biu" else "one score per row"
        raise InvalidInputError(
            f"{source} returned shape {arr.shape} ({kind})",
            "class probabilities of shape (n_samples, n_classes) with n_classes >= 2",
            _ONE_SCORE_FIX,
        )
    if arr.ndim != 2 or arr.shape[0] != n_rows:
        raise InvalidInputError(
            f"{source} returned shape {arr.shape} for {n_rows} input rows",
            f"shape ({n_rows}, n_classes)",
            "Make the scorer batched: one row of class probabilities per input row.",
        )
    if arr.dtype.kind in "biu":
        raise InvalidInputError(
            f"{source} returned integers (dtype {arr.dtype})",
            "float probabilities",
            "Pass predict_proba rather than predict.",
        )
    arr = arr.astype(np.float64, copy=False)
    # cheap vectorised checks (hot path of every perturbation metric): NaN/inf reach the
    # min or max, row sums by a matrix-vector product; the details only on failure
    lo, hi = arr.min(), arr.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):
        check_finite(arr, f"{source} output")
    sums = arr @ np.ones(arr.shape[1])
    if lo < -1e-6 or hi > 1 + 1e-6 or np.abs(sums - 1.0).max() > 1e-3 + 1e-5:  # np.allclose
        raise InvalidInputError(
            f"{source} returned values in [{arr.min():.3g}, {arr.max():.3g}] whose rows sum to "
            f"{arr.sum(1).min():.3g}..{arr.sum(1).max():.3g} (logits?)",
            "probabilities in [0, 1] summing to 1 per row",
            "Apply softmax to logits, or build the task with Task.from_torch(..., "
            "output='logits') which does it for you.",
        )
    return arr


_NOT_REAL = {"c": "complex numbers", "M": "dates (datetime64)", "m": "durations (timedelta64)"}


def check_real(arr: np.ndarray, what: str) -> None:
    """Refuse complex, datetime and timedelta arrays: a float cast would silently drop the
    imaginary part or turn dates into counts since 1970."""
    kind = _NOT_REAL.get(np.asarray(arr).dtype.kind)
    if kind:
        raise InvalidInputError(
            f"{what} holds {kind} (dtype {np.asarray(arr).dtype})",
            "real-valued features",
            "Encode them as real numbers first (e.g. split complex values into real and "
            "imaginary columns; dates into year, day of year, ...).",
        )


def by_task_columns(X: Any, feature_names: tuple[str, ...] | None) -> Any:
    """A DataFrame's columns put in the task's feature order (names must match).

    A frame with default integer labels (``pd.DataFrame(array)``) is positional.
    """
    if not hasattr(X, "columns") or feature_names is None:
        return X
    if list(X.columns) == list(range(X.shape[1])):
        return X
    cols = [str(c) for c in X.columns]
    if cols == list(feature_names):
        return X
    missing = sorted(set(feature_names) - set(cols))
    extra = sorted(set(cols) - set(feature_names))
    if missing or extra:
        raise InvalidInputError(
            f"DataFrame columns missing {missing[:5]} and unexpected {extra[:5]}",
            f"the task's {len(feature_names)} feature names",
            "Select the task's columns (df[list(task.feature_names)]).",
        )
    return X.set_axis(cols, axis=1)[list(feature_names)]


def check_task_data(
    X: Any,
    tabular: bool,
    feature_names: tuple[str, ...] | None,
    background: Any,
    baseline: Any,
    token_ids: bool = False,
) -> None:
    """A Task's arrays agree with each other: X real-valued (2-D when tabular), one name
    per feature, background rows and the baseline of the features' shape."""
    arr = np.asarray(X) if not hasattr(X, "dtypes") else None
    if arr is not None:
        check_real(arr, "X")
        if tabular and arr.ndim != 2:
            raise InvalidInputError(
                f"tabular X with shape {arr.shape}",
                "a 2-D array (n_samples, n_features)",
                "Reshape with X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample.",
            )
    shape = tuple(np.shape(X)[1:])
    n_features = int(np.prod(shape))
    if feature_names is not None and not token_ids and len(feature_names) != n_features:
        raise InvalidInputError(
            f"{len(feature_names)} feature names for {n_features} features (X shape {shape})",
            "one name per feature",
            "Pass feature_names with one entry per column of X, in order.",
        )
    if background is not None and not token_ids:
        bshape = np.shape(background)
        if len(bshape) != len(shape) + 1 or tuple(bshape[1:]) != shape:
            raise InvalidInputError(
                f"background of shape {bshape}",
                f"rows shaped like X's samples: (n_rows, {', '.join(map(str, shape))})",
                "Pass background rows with the same columns (and order) as X.",
            )
        if not hasattr(background, "dtypes"):
            check_real(np.asarray(background), "background")
    if baseline is not None:
        try:
            np.broadcast_to(np.asarray(baseline), shape)
        except ValueError:
            raise InvalidInputError(
                f"baseline of shape {np.shape(baseline)}",
                f"a number or an array that broadcasts to one sample's shape {shape}",
                "Pass one removal value per feature (or a single number).",
            ) from None
