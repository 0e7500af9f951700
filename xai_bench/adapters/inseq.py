"""Inseq adapters: per-step attributions of a causal LM, one Explanation unit per step.

A generation task's rows are units (prefix -> next token). Rows that continue each
other (the next row's prefix is this row's prefix plus its target) form one
generated sequence, which Inseq attributes in one forced-decoding call; step ``k``
of that call becomes the row of unit ``k``. Attributions over the embedding
dimension are summed (signed) or L2-normed (``aggregate``); the prefix positions
line up with the task's ``X`` columns, so the deletion metric scores generation like
classification. Special tokens (BOS) stay in the model's input and in the baseline of
path methods, but are not features: their columns, like padding, are 0. ``inseq.attention`` also records the raw
attention weights (layers x heads per prefix token) in ``meta["attention"]``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._deps import require
from .._hf import position_limit
from .._tokens import special_token_ids
from .._torch import eval_mode, seeded
from ..errors import IncompatibleError, InvalidInputError
from ..explainer import Capabilities, Requirement
from ..task import CountingScorer, Modality, Task
from ._table import TableExplainer, build_adapter

__all__ = ["METHODS", "InseqExplainer"]

_STEPS = {"n_steps": 32}


@dataclass(frozen=True)
class InseqMethod:
    """One ``inseq`` attribution method as data: its hyperparameters and how it runs."""

    params: Mapping[str, Any]
    summary: str
    stochastic: bool = False
    attention: bool = False  # reads attention weights: needs eager attention, no step scores


# Every method of ``inseq.list_feature_attribution_methods()`` that runs on a
# transformers-5 GPT-2, except: "dummy" (no attributions), "reagent" (needs nltk),
# "value_zeroing" (its source-code hook does not find GPT2Attention's value in
# transformers 5), and "layer_integrated_gradients" / "layer_deeplift": all zeros in
# Inseq 0.7.1 on decoder-only models. Not transformers 5, not the layer lookup (the target
# layer is GPT-2's wte): these methods pass token ids to Captum (forward_batch_embeds=False),
# and the forward wrapper Captum calls (inseq/models/decoder_only.py,
# DecoderOnlyInputFormatter.format_forward_args) drops those ids and always runs the real
# input_ids. Captum's baseline pass then yields the input's activations: input - baseline = 0.
# With that fixed they equal inseq.integrated_gradients / inseq.deeplift on the tiny GPT
# (same token embeddings, same <unk> baseline), so nothing is lost; tests/adapters/test_inseq.py
# fails when upstream changes.
METHODS: dict[str, InseqMethod] = {
    "saliency": InseqMethod({}, "Gradient of the target probability w.r.t. token embeddings."),
    "input_x_gradient": InseqMethod({}, "Embedding times gradient."),
    "integrated_gradients": InseqMethod(dict(_STEPS), "Integrated gradients on the embeddings."),
    "deeplift": InseqMethod({}, "DeepLIFT on the embeddings."),
    "gradient_shap": InseqMethod({"n_samples": 8}, "Gradient SHAP.", stochastic=True),
    "discretized_integrated_gradients": InseqMethod(
        dict(_STEPS), "IG along a path through nearby vocabulary embeddings."
    ),
    "sequential_integrated_gradients": InseqMethod(
        dict(_STEPS), "IG interpolating one token at a time."
    ),
    "layer_gradient_x_activation": InseqMethod({}, "Gradient x activation at the embedding layer."),
    "occlusion": InseqMethod({}, "Drop in target probability when a token is occluded."),
    "lime": InseqMethod({"n_samples": 50}, "LIME over token embeddings.", stochastic=True),
    "attention": InseqMethod({}, "Mean attention weight to each prefix token.", attention=True),
}


@contextlib.contextmanager
def _eager_attention(model: Any, needed: bool) -> Iterator[None]:
    """SDPA kernels return no attention weights: switch to eager for the call, then back."""
    config = getattr(model, "config", None)
    previous = getattr(config, "_attn_implementation", None)
    if not needed or previous in (None, "eager") or not hasattr(model, "set_attn_implementation"):
        yield
        return
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(previous)


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Raise a library logger to ERROR for the call, then put its level back."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


@contextlib.contextmanager
def _counting(model: Any) -> Iterator[list[int]]:
    """Count the model's forward calls and rows (Inseq calls the model, not the scorer)."""
    counts = [0, 0]

    def hook(module: Any, args: Any, kwargs: Any) -> None:
        given = (kwargs.get("input_ids"), kwargs.get("inputs_embeds"), *args[:1])
        ids = next((t for t in given if t is not None), None)
        counts[0] += 1
        counts[1] += 0 if ids is None else len(ids)

    handle = model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        yield counts
    finally:
        handle.remove()


@contextlib.contextmanager
def _special_tokens_in_baseline(model: Any, special: np.ndarray) -> Iterator[None]:
    """Keep special tokens (BOS) in the baselines Inseq builds (it puts <unk> everywhere but
    EOS): as in deletion, only features are removed, so IG is complete over the features."""
    import torch

    encode, ids = model.encode, torch.as_tensor(special)

    def keeping(*args: Any, **kwargs: Any) -> Any:
        enc = encode(*args, **kwargs)
        if enc.baseline_ids is not None:
            keep = torch.isin(enc.input_ids, ids.to(enc.input_ids.device))
            enc.baseline_ids = torch.where(keep, enc.input_ids, enc.baseline_ids)
        return enc

    model.encode = keeping  # this instance only; load_model built it for this call
    try:
        yield
    finally:
        del model.encode


def _chains(X: np.ndarray, valid: np.ndarray, targets: np.ndarray) -> list[list[int]]:
    """Group rows into generated sequences: row b follows row a when prefix_b = prefix_a + [t_a]."""
    key = {tuple(X[r][valid[r]].tolist()): r for r in range(len(X))}
    nxt = {}
    for r in range(len(X)):
        follow = key.get((*X[r][valid[r]].tolist(), int(targets[r])))
        if follow is not None and follow != r:
            nxt[r] = follow
    starts = [r for r in range(len(X)) if r not in set(nxt.values())]
    chains, seen = [], set()
    for r in starts:
        chain = [r]
        while chain[-1] in nxt and nxt[chain[-1]] not in seen:
            chain.append(nxt[chain[-1]])
        seen.update(chain)
        chains.append(chain)
    chains += [[r] for r in range(len(X)) if r not in seen]  # cycles cannot occur; be safe
    return chains


class InseqExplainer(TableExplainer):
    """Base of every ``inseq.<method>`` adapter; ``method`` names the Inseq method."""

    library: ClassVar[str] = "inseq"
    method: ClassVar[str]
    spec: ClassVar[InseqMethod]

    @classmethod
    def _defaults(cls) -> dict[str, Any]:
        extra: dict[str, Any] = {} if cls.spec.attention else {"aggregate": "sum"}
        if cls.spec.stochastic:
            extra["seed"] = 0
        return {**cls.spec.params, **extra}

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        inseq = require("inseq", "inseq")
        params = self.get_params()
        aggregate = params.get("aggregate", "mean")  # attention: mean over layers and heads
        if aggregate not in ("sum", "l2", "mean"):
            raise InvalidInputError(
                f"aggregate={aggregate!r}", "'sum' (signed) or 'l2'", "Pick one of them."
            )
        if not hasattr(task.model, "config") or not hasattr(task.model, "generate"):
            raise IncompatibleError(
                f"{self.name} needs a Hugging Face causal LM (task {task.name!r} has "
                f"{type(task.model).__name__})"
            )
        tok, valid = task.tokenizer, task.valid_mask(X)
        # the model's input: the prefix's features and its special tokens (BOS), not padding
        present = (
            np.ones(X.shape, bool)
            if task.pad_token_id is None
            else np.not_equal(X, task.pad_token_id)
        )
        limit = position_limit(task.model)
        longest = int(present.sum(axis=1).max()) + 1  # prefix plus the explained token
        if limit is not None and longest > limit:
            raise InvalidInputError(
                f"a prefix of {longest - 1} tokens plus its target exceeds the model's position "
                f"limit {limit} (Inseq would fail with an IndexError)",
                f"prefixes of at most {limit - 1} tokens",
                "Build the task with Task.from_transformers, which truncates prompts (recorded "
                "in meta['truncation']), or shorten the inputs.",
            )
        kwargs = {k: params[k] for k in self.spec.params}
        attr = np.zeros(X.shape)
        attention: list[Any] = [None] * len(X)
        step_probability = np.full(len(X), np.nan)
        with (
            eval_mode(task.model),
            _eager_attention(task.model, self.spec.attention),
            seeded(params.get("seed")),
            _quiet("inseq"),  # per-call "batch size of 1" notices
            _counting(task.model) as calls,
        ):
            model = inseq.load_model(task.model, self.method, tokenizer=tok)
            for chain in _chains(X, present, targets):
                first, last = chain[0], chain[-1]
                prompt = X[first][present[first]].tolist()
                full = [*X[last][present[last]].tolist(), int(targets[last])]
                source, generated = _round_trip(tok, prompt), _round_trip(tok, full)
                with _special_tokens_in_baseline(model, special_token_ids(tok)):
                    out = model.attribute(
                        [source],
                        generated_texts=[generated],
                        show_progress=False,
                        step_scores=[] if self.spec.attention else ["probability"],
                        **kwargs,
                    )
                seq = out.sequence_attributions[0]
                raw = seq.target_attributions.detach().double().cpu().numpy()
                if raw.shape[:2] != (len(full), len(chain)):
                    raise InvalidInputError(
                        f"Inseq returned attributions of shape {raw.shape[:2]}",
                        f"({len(full)} tokens, {len(chain)} steps)",
                        "The tokenizer does not round-trip these ids; report this task.",
                    )
                for step, row in enumerate(chain):
                    # Inseq's token j is the row's j-th input token; keep the features only
                    n = int(present[row].sum())
                    feature = valid[row][present[row]]
                    values = raw[:n, step][feature].reshape(int(feature.sum()), -1)
                    cols = np.flatnonzero(valid[row])
                    if self.spec.attention:
                        shape = (len(cols), *raw.shape[2:])
                        attention[row] = values.reshape(shape).transpose(1, 2, 0)
                        attr[row, cols] = values.mean(axis=1)
                    else:
                        attr[row, cols] = (
                            values.sum(axis=1)
                            if aggregate == "sum"
                            else np.linalg.norm(values, axis=1)
                        )
                if "probability" in seq.step_scores:
                    step_probability[chain] = seq.step_scores["probability"].double().numpy()
        meta: dict[str, Any] = {
            "output_space": self.capabilities.output_space,
            "model_calls": calls[0],
            "model_rows": calls[1],
        }
        meta["aggregate"] = aggregate
        if not self.spec.attention:
            meta["step_probability"] = step_probability.tolist()
        else:  # per unit: (layers, heads, prefix tokens), for an attention-head view
            meta["attention"] = [a.tolist() for a in attention]
            meta["tokens"] = task.token_strings(X)
        return attr, meta


def _round_trip(tokenizer: Any, ids: list[int]) -> str:
    """Text that Inseq's tokenizer encodes back to exactly ``ids``."""
    text = tokenizer.decode(ids, skip_special_tokens=True)
    again = tokenizer(text)["input_ids"]
    if list(again) != list(ids):
        raise IncompatibleError(
            f"token ids {ids[:12]} decode to {text[:60]!r}, which re-encodes to {list(again)[:12]}:"
            " Inseq works on text, so it needs ids that round-trip through the tokenizer"
        )
    return text


def _adapter(method: str) -> type[InseqExplainer]:
    spec = METHODS[method]
    caps = Capabilities(
        modalities=frozenset({Modality.GENERATION}),
        requires=frozenset({Requirement.TORCH_MODEL, Requirement.TOKENIZER}),
        stochastic=spec.stochastic,
        output_space="attention" if spec.attention else "probability",
    )
    doc = f"Inseq ``{method}``: {spec.summary}"
    return build_adapter(InseqExplainer, f"inseq.{method}", caps, spec, doc, method=method)


Saliency = _adapter("saliency")
InputXGradient = _adapter("input_x_gradient")
IntegratedGradients = _adapter("integrated_gradients")
DeepLift = _adapter("deeplift")
GradientShap = _adapter("gradient_shap")
DiscretizedIntegratedGradients = _adapter("discretized_integrated_gradients")
SequentialIntegratedGradients = _adapter("sequential_integrated_gradients")
LayerGradientXActivation = _adapter("layer_gradient_x_activation")
Occlusion = _adapter("occlusion")
Lime = _adapter("lime")
Attention = _adapter("attention")
