"""Task and Modality: a model, its inputs, and how to score and mask them."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from ._tokens import check_token_ids, special_token_ids
from ._validation import (
    as_feature_matrix,
    check_output_kind,
    check_probabilities,
    check_scores,
    check_task_data,
)
from .errors import InvalidInputError

__all__ = ["INPUT_MODALITIES", "CountingScorer", "Modality", "OutputKind", "Task"]


class Modality(StrEnum):
    """The kind of input a task holds: tabular rows, images, text, or text generation.

    ``components`` marks a :class:`~xai_bench.components.ComponentTask`: its features are
    the model's components, not its inputs (see ``INPUT_MODALITIES``).

    Examples
    --------
    >>> xb.Modality("image") is xb.Modality.IMAGE
    True
    """

    TABULAR = "tabular"
    IMAGE = "image"
    TEXT = "text"
    GENERATION = "generation"
    COMPONENTS = "components"


#: The modalities whose features are a model's inputs (every one but ``components``).
INPUT_MODALITIES = frozenset(m for m in Modality if m is not Modality.COMPONENTS)


class OutputKind(StrEnum):
    """What a task's model outputs, and so what an explanation explains.

    - ``classification``: class probabilities ``(n, k)``, k >= 2;
    - ``binary_logit``: one logit per row ``(n,)`` or ``(n, 1)`` of a binary classifier
      (trained with BCE), explained through a sigmoid as two classes;
    - ``regression``: one prediction per row ``(n,)`` or ``(n, 1)``, explained as is.
    """

    CLASSIFICATION = "classification"
    BINARY_LOGIT = "binary_logit"
    REGRESSION = "regression"


OUTPUT_SPACES = ("probability", "log_odds")
#: The explained output space of a regression task: the prediction itself.
PREDICTION = "prediction"
#: Rows of the task's inputs scored once to check its outputs (see ``Task.check_outputs``).
CHECK_ROWS = 64
_CHECKED: weakref.WeakSet[Any] = weakref.WeakSet()  # tasks whose outputs were checked


@dataclass(frozen=True, eq=False)
class Task:
    """What is explained: a black-box scorer, its inputs, and optional white-box access.

    Parameters
    ----------
    name : str
        Task id, e.g. ``"breast_cancer.mlp"``.
    modality : Modality
    X : ndarray
        Evaluation inputs: (n, n_features) for tabular, (n, C, H, W) for images,
        (n, L) token ids padded with ``pad_token_id`` for text and generation.
    predict_proba : callable
        Batched scorer: ``inputs -> (n, n_classes)`` probabilities for classification;
        one logit (``binary_logit``) or one prediction (``regression``) per row,
        ``(n,)`` or ``(n, 1)``, for the other output kinds.
    y : ndarray, optional
        Labels (for generation: the next token of each unit).
    model : object, optional
        Native model for white-box adapters (``torch.nn.Module``, sklearn estimator, HF model).
    background : ndarray, optional
        Reference data for SHAP/LIME backgrounds and mean baselines.
    feature_names, class_names : tuple of str, optional
    tokenizer : object, optional
        Hugging Face tokenizer for text and generation tasks.
    pad_token_id, mask_token_id : int, optional
        Padding id (not a feature) and the id that "removes" a token.
    ground_truth : ndarray of bool, optional
        Same shape as ``X``: True on features known to carry the evidence.
    baseline : array-like, optional
        Default removal value; when None it is derived per modality (see ``removal_value``).
    meta : mapping
        Free-form provenance (source, training accuracy, ...).
    output_kind : OutputKind or str
        "classification" (default), "binary_logit" or "regression" (see ``OutputKind``).

    Raises
    ------
    InvalidInputError
        If the inputs, ground truth or names do not fit the modality or each other.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(6, 2))
    >>> task = xb.Task("demo", xb.Modality.TABULAR, X,
    ...                lambda x: np.stack([1 - (x[:, 0] > 0), x[:, 0] > 0], axis=1) * 1.0)
    >>> task.X.shape
    (6, 2)
    """

    name: str
    modality: Modality
    X: Any
    predict_proba: Callable[[Any], Any]
    y: Any = None
    model: Any = None
    background: Any = None
    feature_names: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None
    tokenizer: Any = None
    pad_token_id: int | None = None
    mask_token_id: int | None = None
    ground_truth: Any = None
    baseline: Any = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    output_kind: OutputKind = OutputKind.CLASSIFICATION

    def __post_init__(self) -> None:
        object.__setattr__(self, "modality", Modality(self.modality))
        object.__setattr__(self, "output_kind", OutputKind(check_output_kind(self.output_kind)))
        if self.X is None or len(self.X) == 0:
            raise InvalidInputError(
                f"task {self.name!r} has no inputs", "at least one sample", "Pass a non-empty X."
            )
        if self.feature_names is not None:
            object.__setattr__(self, "feature_names", tuple(str(f) for f in self.feature_names))
        text = self.modality in (Modality.TEXT, Modality.GENERATION)
        check_task_data(
            self.X, self.modality is Modality.TABULAR, self.feature_names, self.background,
            self.baseline, token_ids=text,
        )  # fmt: skip
        if self.class_names is not None:
            object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        if self.modality in (Modality.TEXT, Modality.GENERATION):
            check_token_ids(self)

    def __repr__(self) -> str:  # one line, never the arrays themselves
        from ._repr import describe_array, head

        parts = [repr(self.name), str(self.modality.value), f"X={describe_array(self.X)}"]
        if self.class_names:
            parts.append(f"classes={head(self.class_names)}")
        if self.feature_names:
            parts.append(f"features={head(self.feature_names)}")
        if self.model is not None:
            parts.append(f"model={type(self.model).__name__}")
        if self.ground_truth is not None:
            parts.append("ground_truth")
        return f"Task({', '.join(parts)})"

    # -- scoring ---------------------------------------------------------------------
    def predict(self, X: Any) -> np.ndarray:
        """Validated outputs for a batch: float64 ``(n, n_outputs)``.

        Class probabilities for classification; ``[1 - sigmoid(z), sigmoid(z)]`` for a
        single logit ``z``; the prediction ``(n, 1)`` for regression. The first call also
        checks the model's outputs on the task's inputs (``check_outputs``).
        """
        out = self._predict(X)  # errors about this batch name this batch
        if self not in _CHECKED:
            self.check_outputs()
            _CHECKED.add(self)
        return out

    def _predict(self, X: Any) -> np.ndarray:
        source = f"task {self.name!r} scorer"
        if self.output_kind is OutputKind.CLASSIFICATION:
            return check_probabilities(self.predict_proba(X), len(X), source)
        z = check_scores(self.predict_proba(X), len(X), source)
        if self.output_kind is OutputKind.REGRESSION:
            return z[:, None]
        from scipy.special import expit  # exact in both tails, unlike 1 - sigmoid(z)

        return np.column_stack([expit(-z), expit(z)])

    def check_outputs(self) -> None:
        """Refuse a model whose outputs cannot be what ``output_kind`` says.

        Scores up to ``CHECK_ROWS`` of the task's inputs: besides the per-batch checks
        (shape, range, rows summing to 1), a classifier that gives distinct inputs the
        same one-hot vector explains nothing (all attributions 0) and is refused.
        """
        X = np.asarray(self.X[:CHECK_ROWS])
        p = self._predict(X)
        if self.output_kind is OutputKind.CLASSIFICATION and len(p) > 1:
            distinct = not np.all(X[:1] == X)
            if distinct and np.all(p == p[:1]) and np.isin(p[0], (0.0, 1.0)).all():
                raise InvalidInputError(
                    f"task {self.name!r} scorer gives the same one-hot output "
                    f"{p[0].tolist()} for all of the first {len(p)} (distinct) inputs",
                    "class probabilities that depend on the input",
                    "Check what the model returns: a one-logit module needs "
                    "output='binary_logit' (or 'regression'), and a softmax over the batch "
                    "axis (dim=0) is a common cause.",
                )

    @property
    def n_outputs(self) -> int:
        """Columns of ``predict``: classes (2 for a single logit), 1 for regression."""
        return int(self.predict(self.X[:1]).shape[1])

    @property
    def is_regression(self) -> bool:
        return self.output_kind is OutputKind.REGRESSION

    def explained_space(self, space: str) -> str:
        """The output space an explainer or metric explains on this task.

        ``space`` is what it explains on a classifier; a regressor's explained output is
        its prediction, and a single logit's "logit" is the target's log-odds.
        """
        if self.output_kind is OutputKind.REGRESSION:
            return PREDICTION if space in ("probability", "logit", "log_odds", "model") else space
        if self.output_kind is OutputKind.BINARY_LOGIT and space == "logit":
            return "log_odds"
        return space

    def predicted(self, X: Any) -> np.ndarray:
        """The predicted output index per row: the default explanation target (0 for regression)."""
        if self.output_kind is OutputKind.REGRESSION:
            return np.zeros(len(X), dtype=np.int64)
        return self.predict(X).argmax(axis=1)

    def resolve_targets(self, X: Any, targets: Any = None) -> np.ndarray:
        """Targets given by the user (indices or class names, validated), else the
        predicted class per row."""
        if targets is None:
            return self.predicted(X)
        t = np.asarray(targets)
        if t.dtype.kind in "USO":
            t = self._class_indices(t)
        if t.ndim == 0:
            t = np.full(len(X), int(t))
        n_out = self.n_outputs
        if t.shape != (len(X),) or t.dtype.kind not in "iu" or t.min() < 0 or t.max() >= n_out:
            expected = (
                "target 0 (the prediction) for every sample"
                if self.is_regression
                else f"one integer class index per sample in [0, {n_out - 1}]"
            )
            raise InvalidInputError(
                f"targets {t.tolist()[:8]} with shape {t.shape}",
                expected,
                "Pass targets=None to explain the predicted class"
                + (f", or class names from {list(self.class_names)}." if self.class_names else "."),
            )
        return t.astype(np.int64)

    def _class_indices(self, names: np.ndarray) -> np.ndarray:
        """Class names -> class indices; an unknown name lists the valid ones."""
        valid = list(self.class_names or ())
        index = {name: i for i, name in enumerate(valid)}
        unknown = sorted({str(v) for v in names.reshape(-1)} - set(index))
        if unknown:
            raise InvalidInputError(
                f"unknown class name(s) {unknown[:8]} in targets",
                f"class names of task {self.name!r}: {valid}"
                if valid
                else f"integer class indices (task {self.name!r} has no class_names)",
                "Use one of the listed names, or an integer class index.",
            )
        return np.vectorize(lambda v: index[str(v)], otypes=[np.int64])(names)

    # -- features --------------------------------------------------------------------
    @property
    def feature_shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.X)[1:])

    def valid_mask(self, X: Any) -> np.ndarray:
        """True where X holds a real feature.

        False on text padding, and on the special tokens a tokenizer adds around a text
        ([CLS]/[SEP], BOS/EOS; not unknown or mask tokens) of text and generation tasks:
        those stay in the model's input but are never attributed, ranked or removed.
        """
        arr = np.asarray(X)
        keep = np.ones(arr.shape, dtype=bool)
        text = self.modality in (Modality.TEXT, Modality.GENERATION)
        if text and self.pad_token_id is not None:
            keep &= arr != self.pad_token_id
        if text and self.tokenizer is not None:
            keep &= ~np.isin(arr, special_token_ids(self.tokenizer))
        return keep

    def removal_value(self) -> np.ndarray:
        """The default value that "removes" a feature, per modality.

        Tabular: background mean; image: zeros; text: the mask (else pad) token id.
        """
        if self.baseline is not None:
            return np.broadcast_to(np.asarray(self.baseline), self.feature_shape)
        if self.modality is Modality.TABULAR:
            ref = self.X if self.background is None else self.background
            return np.asarray(ref, dtype=np.float64).mean(axis=0)
        if self.modality is Modality.IMAGE:
            return np.zeros(self.feature_shape)
        token = self.mask_token_id if self.mask_token_id is not None else self.pad_token_id
        if token is None:
            raise InvalidInputError(
                f"text task {self.name!r} has neither mask_token_id nor pad_token_id",
                "a token id that removes a token",
                "Set mask_token_id (or pad_token_id) on the Task.",
            )
        return np.full(self.feature_shape, token, dtype=np.int64)

    def token_strings(self, X: Any) -> list[list[str]]:
        """Model tokens per row where ``valid_mask`` holds, for text and generation tasks."""
        if self.tokenizer is None:
            raise InvalidInputError(
                f"task {self.name!r} has no tokenizer", "a text task", "Pass tokenizer=..."
            )
        valid = self.valid_mask(X)
        return [
            list(self.tokenizer.convert_ids_to_tokens([int(t) for t in row[m]]))
            for row, m in zip(np.asarray(X), valid, strict=True)
        ]

    def texts(self, X: Any) -> list[str]:
        """Each row as text: its model tokens (``token_strings``) joined by spaces.

        Exact for word-level tokenizers (the built-in text tasks); for subword
        tokenizers it is a readable view, not a lossless decoding.
        """
        return [" ".join(tokens) for tokens in self.token_strings(X)]

    # -- white-box access ------------------------------------------------------------
    @property
    def is_torch(self) -> bool:
        return _is_torch_module(self.model)

    @property
    def is_sklearn(self) -> bool:
        method = "predict" if self.is_regression else "predict_proba"
        return (
            self.model is not None
            and hasattr(self.model, "get_params")
            and hasattr(self.model, method)
        )

    # -- constructors ----------------------------------------------------------------
    @classmethod
    def from_sklearn(
        cls,
        estimator: Any,
        X: Any,
        y: Any = None,
        feature_names: Any = None,
        background: Any = None,
        *,
        name: str | None = None,
        class_names: Any = None,
        ground_truth: Any = None,
    ) -> Task:
        """Wrap a fitted scikit-learn classifier (``predict_proba``) or regressor (``predict``).

        A regressor (``sklearn.base.is_regressor``) gives a regression task: its
        ``predict`` is the explained output.
        """
        from sklearn.base import is_regressor

        regression = is_regressor(estimator)
        if not regression and not hasattr(estimator, "predict_proba"):
            raise InvalidInputError(
                f"{type(estimator).__name__} has no predict_proba and is not a regressor",
                "a fitted classifier with predict_proba, or a scikit-learn regressor",
                "Use a probabilistic classifier (e.g. LogisticRegression, or "
                "SVC(probability=True)); a regressor is wrapped as a regression task.",
            )
        Xa, cols = as_feature_matrix(X, "X")
        bg = None if background is None else as_feature_matrix(background, "background")[0]
        names = feature_names if feature_names is not None else cols
        uses_frame = hasattr(estimator, "feature_names_in_")
        frame_cols = list(getattr(estimator, "feature_names_in_", []))

        method = estimator.predict if regression else estimator.predict_proba

        def predict_proba(batch: Any) -> np.ndarray:
            arr = np.asarray(batch, dtype=np.float64)
            if uses_frame:  # keep sklearn's feature-name check quiet and correct
                import pandas as pd

                return method(pd.DataFrame(arr, columns=frame_cols))
            return method(arr)

        task = cls(
            name=name or f"sklearn.{type(estimator).__name__.lower()}",
            modality=Modality.TABULAR,
            X=Xa,
            predict_proba=predict_proba,
            y=None if y is None else np.asarray(y),
            model=estimator,
            background=bg,
            feature_names=names,
            class_names=class_names
            if class_names is not None
            else tuple(str(c) for c in getattr(estimator, "classes_", [])) or None,
            ground_truth=ground_truth,
            output_kind=OutputKind.REGRESSION if regression else OutputKind.CLASSIFICATION,
        )
        task.predict(Xa[:2])  # fail now (outputs checked), not in the middle of a run
        return task

    @classmethod
    def from_torch(
        cls,
        module: Any,
        X: Any,
        y: Any = None,
        feature_names: Any = None,
        background: Any = None,
        *,
        name: str | None = None,
        modality: Modality | str | None = None,
        output: str = "logits",
        class_names: Any = None,
        ground_truth: Any = None,
        batch_size: int = 4096,
    ) -> Task:
        """Wrap a ``torch.nn.Module``; ``output`` says what it returns.

        ``"logits"`` or ``"probabilities"`` per class (k >= 2 columns); ``"binary_logit"``:
        one logit per row of a binary classifier (explained through a sigmoid as two
        classes); ``"regression"``: one prediction per row. A one-column module is refused
        unless ``output`` names one of the last two. Inputs are cast to the module's
        parameter dtype and device; the module runs in eval mode under ``no_grad`` and
        its previous mode is restored; outputs keep the module's precision.
        """
        if not _is_torch_module(module):
            raise InvalidInputError(
                f"{type(module).__name__} is not a torch.nn.Module",
                "a torch.nn.Module",
                "Use Task.from_sklearn for scikit-learn models, or Task(...) for any callable.",
            )
        if output not in TORCH_OUTPUTS:
            raise InvalidInputError(
                f"output={output!r}", f"one of {TORCH_OUTPUTS}", "Say what the module returns."
            )
        raw = X
        if np.ndim(raw) <= 2:  # 1-D X is refused there, with how to reshape it
            Xa, cols = as_feature_matrix(raw, "X")
        else:
            from ._validation import check_finite, check_real

            check_real(np.asarray(raw), "X")
            Xa, cols = np.asarray(raw, dtype=np.float64), None
            check_finite(Xa, "X")
        mod = (
            Modality(modality)
            if modality
            else (Modality.TABULAR if Xa.ndim == 2 else Modality.IMAGE)
        )
        bg = None
        if background is not None:  # NaN/strings in the background: named here, not in SHAP/LIME
            from ._validation import check_finite

            bg = (
                as_feature_matrix(background, "background")[0]
                if Xa.ndim == 2
                else np.asarray(background, dtype=np.float64)
            )
            check_finite(bg, "background")
        predict_proba = torch_scorer(module, output=output, batch_size=batch_size)
        task = cls(
            name=name or f"torch.{type(module).__name__.lower()}",
            modality=mod,
            X=Xa,
            predict_proba=predict_proba,
            y=None if y is None else np.asarray(y),
            model=module,
            background=bg,
            feature_names=feature_names if feature_names is not None else cols,
            class_names=class_names,
            ground_truth=ground_truth,
            meta={"model_output": output},
            output_kind=_TORCH_KINDS.get(output, OutputKind.CLASSIFICATION),
        )
        task.predict(Xa[:2])
        return task

    @classmethod
    def from_transformers(
        cls,
        model_or_name_or_path: Any,
        tokenizer: Any = None,
        texts: Any = None,
        *,
        kind: str = "auto",
        labels: Any = None,
        name: str | None = None,
        max_length: int | None = None,
        max_new_tokens: int = 4,
        background_texts: Any = None,
    ) -> Task:
        """Wrap a Hugging Face model (object, hub name or local path) and texts as a task.

        A sequence classifier gives a TEXT task over ``texts``; a causal LM gives a
        GENERATION task that continues ``texts`` greedily for ``max_new_tokens`` steps,
        one unit per step. ``kind`` ("auto", "classification", "generation") picks the
        Auto class. Unknown words and truncation at the model's position limit (or
        ``max_length``) are recorded in ``meta``. The special tokens the tokenizer adds
        ([CLS]/[SEP], <s>/</s>) stay in ``X`` for the model but are not features.
        """
        from . import _hf

        model, tokenizer, kind, label = _hf.load(model_or_name_or_path, tokenizer, texts, kind)
        task_name = name or f"transformers.{label}"
        if kind == "generation":
            fields = _hf.generation_fields(model, tokenizer, texts, max_new_tokens=max_new_tokens)
            return cls(name=task_name, modality=Modality.GENERATION, **fields)
        fields = _hf.classification_fields(
            model, tokenizer, texts, max_length=max_length, background_texts=background_texts
        )
        return cls(
            name=task_name,
            modality=Modality.TEXT,
            predict_proba=torch_scorer(fields["model"]),
            y=None if labels is None else np.asarray(labels),
            **fields,
        )


def _is_torch_module(obj: Any) -> bool:
    return any(
        c.__module__.startswith("torch.nn") and c.__name__ == "Module" for c in type(obj).__mro__
    )


TORCH_OUTPUTS = ("logits", "probabilities", "binary_logit", "regression")
_TORCH_KINDS = {"binary_logit": OutputKind.BINARY_LOGIT, "regression": OutputKind.REGRESSION}


def torch_scorer(module: Any, *, output: str = "logits", batch_size: int = 4096) -> Callable:
    """A numpy-in, numpy-out scorer around a torch module, in the module's precision.

    ``output="logits"`` gives softmax probabilities, ``"probabilities"`` the outputs as
    they are; ``"binary_logit"`` and ``"regression"`` the raw one-column output (the
    Task applies the sigmoid to a logit).
    """
    import torch

    def predict_proba(batch: Any) -> np.ndarray:
        param = next(module.parameters(), None)
        dtype = param.dtype if param is not None else torch.float32
        device = param.device if param is not None else torch.device("cpu")
        arr = np.asarray(batch)
        # only submodules in train mode are switched (and restored): none when already eval
        training = [m for m in module.modules() if m.training]
        if training:
            module.eval()
        outs = []
        try:
            with torch.no_grad():
                for start in range(0, len(arr), batch_size):
                    chunk = torch.as_tensor(arr[start : start + batch_size])
                    chunk = chunk.to(
                        device=device, dtype=dtype if chunk.is_floating_point() else None
                    )
                    outs.append(module(chunk))
        finally:
            for m in training:
                m.training = True
        out = outs[0] if len(outs) == 1 else torch.cat(outs)
        if out.dtype not in (torch.float32, torch.float64):  # half precision: numpy has no
            out = out.float()  # bfloat16; float64 models stay float64
        if output in _TORCH_KINDS:
            return out.cpu().double().numpy()
        if out.ndim != 2 or out.shape[1] < 2:
            raise InvalidInputError(
                f"the module returned shape {tuple(out.shape)} with output={output!r}",
                "one column per class (at least 2)",
                "For a one-logit binary classifier (BCE) pass output='binary_logit'; for a "
                "regressor pass output='regression'.",
            )
        if output == "logits":
            return softmax_rows(out)
        return out.cpu().double().numpy()

    return predict_proba


#: Below this many classes, torch's row softmax runs one row at a time (at one thread,
#: torch 2.13: ~48 ns per row for 2 classes, ~170 ns for 10, more than a small MLP's
#: forward pass); over the transposed logits in numpy it takes ~5 ns and ~25 ns.
SMALL_SOFTMAX = 16


def softmax_rows(logits: Any) -> np.ndarray:
    """Softmax over the last axis of 2-D torch logits, as float64 numpy.

    The same numbers as torch's ``softmax(-1)`` in the logits' precision (to its last
    bits), and a row's result never depends on the rows around it: for few classes it is
    computed in float64 over the transposed logits with a fixed summation order
    (vectorised kernels that reduce over the batch axis would round differently at
    different positions), then rounded to the logits' dtype.
    """
    if logits.shape[1] >= SMALL_SOFTMAX:
        return logits.softmax(-1).cpu().double().numpy()
    z = logits.cpu().double().numpy().T.copy()  # (classes, n): each step runs over n rows
    z -= z.max(axis=0)
    np.exp(z, out=z)
    total = z[0].copy()
    for row in z[1:]:  # class by class: the same order for every row
        total += row
    z /= total
    # rounded to the logits' precision, like torch's softmax: the last bits of a float32
    # model's logits vary with the batch size (GEMM blocking), and rounding the
    # probabilities to float32 keeps that noise out of them, as it always was
    out = np.empty(z.shape[::-1])
    out.T[...] = z.astype(str(logits.dtype).removeprefix("torch."))
    return out


class CountingScorer:
    """Wraps a batched scorer and counts calls and rows (the model-call cost)."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn, self.calls, self.rows = fn, 0, 0

    def __call__(self, batch: Any) -> Any:
        self.calls += 1
        self.rows += len(batch)
        return self.fn(batch)
