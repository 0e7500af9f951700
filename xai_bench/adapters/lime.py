"""LIME adapters: tabular, image (superpixels) and text (words mapped onto model tokens).

LIME seeds itself only when its explainer is built, so each row starts from a
freshly seeded random state: the same row and seed always give the same weights,
whatever else is in the batch or however often the explainer was called. The target column is passed as LIME's
``labels`` so two-column probabilities never fall back to column 0.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._deps import require
from .._upstream import Upstream
from ..errors import InvalidInputError
from ..explainer import BaseExplainer, Capabilities, Requirement
from ..task import CountingScorer, Modality, Task
from ._background import constant_columns, task_background


def _weights(local_exp: list[tuple[int, float]], size: int) -> np.ndarray:
    out = np.zeros(size)
    for j, w in local_exp:
        out[int(j)] = w
    return out


class LimeTabular(BaseExplainer):
    """LIME's tabular explainer with the task's background as its training data
    (``mode="regression"`` on a regressor: the weights explain the prediction).

    Parameters
    ----------
    n_samples : int
        Perturbed samples per row.
    kernel_width : float or None
        LIME's kernel width; None is LIME's ``0.75 * sqrt(n_features)``.
    discretize_continuous : bool
        LIME's quartile discretisation of continuous features (LIME's default True).
        Off by default here: with it, the surrogate sees only which quartile a feature
        falls in; on a sparse logistic regression it ranked the true features first in
        88% of the samples, against 100% without.
    seed : int
    """

    name: ClassVar[str] = "lime.tabular"
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "n_samples": Upstream(
            "lime.lime_tabular:LimeTabularExplainer.explain_instance", "num_samples"
        ),
        "kernel_width": Upstream("lime.lime_tabular:LimeTabularExplainer.__init__", "kernel_width"),
        "discretize_continuous": Upstream(
            "lime.lime_tabular:LimeTabularExplainer.__init__", "discretize_continuous"
        ),
    }
    library: ClassVar[str] = "lime"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.TABULAR}), stochastic=True
    )

    def __init__(
        self,
        n_samples: int = 1000,
        kernel_width: float | None = None,
        discretize_continuous: bool = False,
        seed: int = 0,
    ) -> None:
        self.n_samples = n_samples
        self.kernel_width = kernel_width
        self.discretize_continuous = discretize_continuous
        self.seed = seed

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        lime_tabular = require("lime.lime_tabular", "lime")
        background = task_background(task)  # finite, numeric, numpy: LIME sees no surprises
        n_features = X.shape[1]
        names = list(task.feature_names or [f"x{j}" for j in range(n_features)])
        regression = task.is_regression
        explainer = lime_tabular.LimeTabularExplainer(
            background,
            mode="regression" if regression else "classification",
            feature_names=names,
            kernel_width=self.kernel_width,
            discretize_continuous=self.discretize_continuous,
            random_state=self.seed,
        )
        attr, scores, intercepts = np.zeros(X.shape), [], []
        for i, (x, t) in enumerate(zip(X, targets, strict=True)):
            # the explainer, its discretizer and LimeBase share this one RandomState:
            # re-seeding it gives each row what a freshly built explainer would
            explainer.random_state.seed(self.seed)
            exp = explainer.explain_instance(
                x, scorer, labels=(int(t),), num_features=n_features, num_samples=self.n_samples
            )
            label = 1 if regression else int(t)  # LIME files a regression under label 1
            attr[i] = _weights(exp.local_exp[label], n_features)
            scores.append(float(exp.score[label] if isinstance(exp.score, dict) else exp.score))
            intercepts.append(float(exp.intercept[label]))
        constant = constant_columns(background)
        # without discretisation LIME samples a column that is constant in its training
        # data from N(mean, 1) (the scaler gives it unit scale): values the data never
        # holds. It varies in nothing the background shows, so it gets 0, as with quartiles
        attr[:, constant] = 0.0
        meta = {"constant_features": constant}
        return attr, {**meta, "surrogate_r2": scores, "intercepts": intercepts}


class LimeImage(BaseExplainer):
    """LIME on images: SLIC superpixels switched off to the task's removal value.

    Defaults suit tiny images (8x8 digits give about 8-12 superpixels); each pixel
    gets its superpixel's weight, shared by all channels.

    Parameters
    ----------
    n_samples : int
        Perturbed images per sample.
    n_segments, compactness : int, float
        skimage ``slic`` parameters (``sigma=0``: no smoothing at this size).
    kernel_width : float
    seed : int
    """

    name: ClassVar[str] = "lime.image"
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "n_samples": Upstream("lime.lime_image:LimeImageExplainer.explain_instance", "num_samples"),
        "n_segments": "quickshift segmentation (no segment count)",
        "kernel_width": Upstream("lime.lime_image:LimeImageExplainer.__init__", "kernel_width"),
    }
    library: ClassVar[str] = "lime"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.IMAGE}),
        requires=frozenset({Requirement.CLASSIFIER}),
        stochastic=True,
    )

    def __init__(
        self,
        n_samples: int = 500,
        n_segments: int = 16,
        compactness: float = 1.0,
        kernel_width: float = 0.25,
        seed: int = 0,
    ) -> None:
        self.n_samples = n_samples
        self.n_segments = n_segments
        self.compactness = compactness
        self.kernel_width = kernel_width
        self.seed = seed

    def _segment(self, image: np.ndarray) -> np.ndarray:
        from skimage.segmentation import slic

        return slic(
            image,
            n_segments=self.n_segments,
            compactness=self.compactness,
            sigma=0,
            start_label=0,
            channel_axis=-1,
        )

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        lime_image = require("lime.lime_image", "lime")
        if X.ndim != 4:
            raise InvalidInputError(
                f"images of shape {X.shape[1:]}",
                "(channels, height, width)",
                "Reshape to (n, C, H, W).",
            )
        removal = task.removal_value()
        channels = X.shape[1]

        def to_model(batch: np.ndarray) -> np.ndarray:
            # LIME works on (n, H, W, 3); the model takes (n, C, H, W)
            return np.moveaxis(np.asarray(batch), -1, 1)[:, :channels]

        attr, n_segments = np.zeros(X.shape), []
        for i, (x, t) in enumerate(zip(X, targets, strict=True)):
            rgb = np.moveaxis(x, 0, -1)
            rgb = np.repeat(rgb, 3, axis=-1) if channels == 1 else rgb
            fill = np.moveaxis(np.broadcast_to(removal, x.shape), 0, -1)
            explainer = lime_image.LimeImageExplainer(
                kernel_width=self.kernel_width, random_state=self.seed
            )
            segments = self._segment(rgb)
            # hide_color=None would use each segment's mean: pass the task's removal value
            exp = explainer.explain_instance(
                rgb,
                lambda b: scorer(to_model(b)),
                labels=(int(t),),
                top_labels=None,
                hide_color=float(np.mean(fill)),
                num_features=int(segments.max()) + 1,
                num_samples=self.n_samples,
                batch_size=self.n_samples,
                segmentation_fn=lambda _img, s=segments: s,
                random_seed=self.seed,
            )
            weights = _weights(exp.local_exp[int(t)], int(segments.max()) + 1)
            attr[i] = np.broadcast_to(weights[segments], x.shape)
            n_segments.append(int(segments.max()) + 1)
        return attr, {"superpixels": n_segments, "segmentation": "slic"}


class LimeText(BaseExplainer):
    """LIME on text: words (whitespace-separated) replaced by the mask token, weights aligned
    back onto the model's token positions.

    Parameters
    ----------
    n_samples : int
        Perturbed texts per sample.
    kernel_width : float
        LIME's text kernel width (cosine distance).
    seed : int
    """

    name: ClassVar[str] = "lime.text"
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "n_samples": Upstream("lime.lime_text:LimeTextExplainer.explain_instance", "num_samples"),
        "kernel_width": Upstream("lime.lime_text:LimeTextExplainer.__init__", "kernel_width"),
    }
    library: ClassVar[str] = "lime"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.TEXT}),
        requires=frozenset({Requirement.TOKENIZER, Requirement.CLASSIFIER}),
        stochastic=True,
    )

    def __init__(self, n_samples: int = 500, kernel_width: float = 25.0, seed: int = 0) -> None:
        self.n_samples = n_samples
        self.kernel_width = kernel_width
        self.seed = seed

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        lime_text = require("lime.lime_text", "lime")
        from ._text import alignment_meta, row_texts, spans_to_tokens, text_scorer

        rows = row_texts(task, X)
        tok = task.tokenizer
        mask = tok.mask_token or tok.unk_token
        attr = np.zeros(X.shape)
        for i, (row, t) in enumerate(zip(rows, targets, strict=True)):
            explainer = lime_text.LimeTextExplainer(
                kernel_width=self.kernel_width,
                bow=False,  # position-wise words, so each occurrence gets its own weight
                split_expression=r"\s+",
                mask_string=mask,
                random_state=self.seed,
            )
            exp = explainer.explain_instance(
                row.text,
                text_scorer(task, scorer, X.shape[1], row),
                labels=(int(t),),
                num_features=len(row.positions),
                num_samples=self.n_samples,
            )
            words = exp.domain_mapper.indexed_string
            starts = [int(np.ravel(words.string_position(j))[0]) for j, _ in exp.local_exp[int(t)]]
            spans = [
                (start, start + len(words.word(j)), w)
                for start, (j, w) in zip(starts, exp.local_exp[int(t)], strict=True)
            ]
            attr[i] = spans_to_tokens(row, spans, X.shape[1])
        return attr, {**alignment_meta(rows), "removal": f"word -> {mask}"}
