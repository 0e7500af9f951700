"""Hugging Face causal LMs as component tasks, through nnsight.

:class:`HFComponents` gives a loaded causal LM the hook points of
:class:`~xai_bench.components.TinyTransformer`, so the masker and every node explainer
run on it unchanged. Its forward pass is one nnsight trace of the wrapped model that
routes each write through a hook point and puts back what the hooks return:

- ``emb``: the embeddings entering the first block (GPT-2: token + position, after
  dropout), (B, T, D);
- ``a{l}.h{h}``: the input of layer l's attention output projection, split by head,
  (B, T, H, d_head). The projection is linear, so patching a head's slice there patches
  exactly that head's write (the projection's bias is shared, never ablated);
- ``m{l}``: the MLP's output, (B, T, D); its neurons ``m{l}.n{i}`` are the input of the
  MLP's output projection, (B, T, d_mlp);
- ``block(l)`` itself: the residual stream after layer l, (B, T, D) (causal tracing).

Reader inputs (q/k/v, MLP input, logits) sit behind layer norms shared by a block's
heads, so the edge space is not offered: asking for it raises IncompatibleError.
nnsight is imported when a model is wrapped, never at package import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import _hf
from .._deps import require
from .._tokens import special_token_ids
from ..errors import IncompatibleError, InvalidInputError
from .model import HookPoint

__all__ = ["LAYOUTS", "HFComponents", "Layout", "task_from_transformers"]


@dataclass(frozen=True)
class Layout:
    """Where one family of causal LMs keeps its components (dotted module paths)."""

    family: str
    embed: str  # its output is the embeddings entering block 0
    layers: str  # the ModuleList of blocks
    attn_out: str  # per block: the attention output projection (its input holds the heads)
    mlp: str  # per block: the MLP (its output is m{l})
    mlp_out: str  # per block: the MLP's output projection (its input holds the neurons)


LAYOUTS = (
    Layout("gpt2", "transformer.drop", "transformer.h", "attn.c_proj", "mlp", "mlp.c_proj"),
    Layout(
        "llama", "model.embed_tokens", "model.layers", "self_attn.o_proj", "mlp", "mlp.down_proj"
    ),
)


def _at(root: Any, path: str) -> Any:
    for part in path.split("."):
        root = getattr(root, part)
    return root


def _layout(model: nn.Module) -> Layout | None:
    found = {name for name, _ in model.named_modules()}
    for layout in LAYOUTS:
        block = f"{layout.layers}.0"
        paths = {
            layout.embed,
            *(f"{block}.{p}" for p in (layout.attn_out, layout.mlp, layout.mlp_out)),
        }
        if paths <= found:
            return layout
    return None


def _in_features(module: Any) -> int:
    """Input width of a Linear, or of GPT-2's Conv1D (weight (in, out))."""
    width = getattr(module, "in_features", None)
    return int(width if width is not None else module.weight.shape[0])


_READERS = (
    "its reader inputs (q/k/v, MLP input, logits) sit behind layer norms shared by a "
    "block's heads, so edges and AtP*'s QK fix are not offered on it"
)
_PATTERN = "its attention kernels (SDPA, flash) do not expose the attention pattern"


def _no_readers(name: str, why: str = _READERS) -> property:
    def refuse(_self: Any) -> Any:
        raise IncompatibleError(
            f"a Hugging Face model has no hook point {name!r}: {why}. Use the node or neuron space."
        )

    return property(refuse)


class _Attention(nn.Module):
    hook_q_in = _no_readers("hook_q_in")
    hook_k_in = _no_readers("hook_k_in")
    hook_v_in = _no_readers("hook_v_in")
    hook_pattern = _no_readers("hook_pattern", _PATTERN)

    def __init__(self) -> None:
        super().__init__()
        self.hook_out = HookPoint()


class _Block(HookPoint):
    """One layer's hook points; called itself on the residual stream after the layer (as a
    TinyTransformer block returns it), so hooks on the block see and replace that."""

    has_mlp = True
    hook_mlp_in = _no_readers("hook_mlp_in")

    def __init__(self) -> None:
        super().__init__()
        self.attn = _Attention()
        self.hook_mlp = HookPoint()
        self.hook_neurons = HookPoint()


class HFComponents(nn.Module):
    """A Hugging Face causal LM with TinyTransformer's hook points, run through nnsight.

    Parameters
    ----------
    lm : transformers causal LM
        A GPT-2 or Llama-style model (see :data:`LAYOUTS`); ``forward(tokens)`` returns
        its logits (B, T, vocab).
    """

    hook_logits_in = _no_readers("hook_logits_in")

    def __init__(self, lm: Any) -> None:
        super().__init__()
        layout = _layout(lm)
        if layout is None:
            raise InvalidInputError(
                f"a {type(lm).__name__} whose modules match none of the known layouts",
                "a causal LM laid out like "
                + " or ".join(f"{x.family} ({x.layers}[l].{x.attn_out})" for x in LAYOUTS),
                "Use a GPT-2 or Llama-style model.",
            )
        require("nnsight", "components")  # fail here, not at the first forward pass
        config = lm.config
        self.lm, self.layout = lm, layout
        self.vocab = int(lm.get_output_embeddings().weight.shape[0])
        self.n_ctx = _hf.position_limit(lm) or 2**31 - 1
        layers = _at(lm, layout.layers)
        self.n_layers, self.n_heads = len(layers), int(config.num_attention_heads)
        self.d_mlp = _in_features(_at(layers[0], layout.mlp_out))
        self.hook_emb = HookPoint()
        self.blocks = nn.ModuleList(_Block() for _ in range(self.n_layers))

    @property
    def W_E(self) -> torch.Tensor:  # noqa: N802  # TinyTransformer's name
        """The token embedding matrix (vocab, D)."""
        return self.lm.get_input_embeddings().weight

    def block(self, layer: int) -> _Block:
        """Block ``layer``'s hook points."""
        block = self.blocks[layer]
        assert isinstance(block, _Block)
        return block

    def __getstate__(self) -> dict[str, Any]:  # the nnsight wrapper is rebuilt after unpickling
        state = self.__dict__.copy()
        state.pop("_envoy", None)
        return state

    def envoy(self) -> Any:
        """The nnsight wrapper of ``lm`` (built on first use)."""
        if "_envoy" not in self.__dict__:
            nnsight = require("nnsight", "components")
            self.__dict__["_envoy"] = nnsight.NNsight(self.lm)
        return self.__dict__["_envoy"]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, vocab) of token ids (B, T), every write through its hook point."""
        envoy, layout = self.envoy(), self.layout
        with envoy.trace(tokens):  # nnsight runs this body interleaved with the forward pass
            embed = _at(envoy, layout.embed)
            embed.output = self.hook_emb(embed.output)
            layers = _at(envoy, layout.layers)
            for layer in range(self.n_layers):
                block, envoy_layer = self.block(layer), layers[layer]
                proj = _at(envoy_layer, layout.attn_out)
                z = proj.input
                heads = z.reshape(*z.shape[:-1], self.n_heads, -1)
                proj.input = block.attn.hook_out(heads).reshape(z.shape)
                down = _at(envoy_layer, layout.mlp_out)
                down.input = block.hook_neurons(down.input)
                mlp = _at(envoy_layer, layout.mlp)
                mlp.output = block.hook_mlp(mlp.output)
                envoy_layer.output = block(envoy_layer.output)
            logits = envoy.output.logits.save()
        return logits


def _load(source: Any, tokenizer: Any) -> tuple[nn.Module, Any, str]:
    """``(causal LM in eval mode, tokenizer, label)`` from objects or hub names / paths."""
    transformers = require("transformers", "text")
    if _hf._is_path(source):
        label = str(source).rstrip("/").split("/")[-1]
        with _hf._loading(source):
            config = transformers.AutoConfig.from_pretrained(str(source))
            if _hf._kind_of(list(config.architectures or [])) != "generation":
                _not_causal(f"{str(source)!r} saved as {config.architectures}")
            model = transformers.AutoModelForCausalLM.from_pretrained(str(source))
        tokenizer = source if tokenizer is None else tokenizer
    else:
        model, label = source, type(source).__name__.lower()
        if not isinstance(model, nn.Module) or _hf._kind_of([type(model).__name__]) != "generation":
            _not_causal(f"a model of type {type(model).__name__}")
    if _hf._is_path(tokenizer):
        with _hf._loading(tokenizer):
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(tokenizer))
    if tokenizer is None:
        raise InvalidInputError(
            "tokenizer=None with a model object",
            "the tokenizer that encodes the prompts (object, hub name or path)",
            "Pass tokenizer=... .",
        )
    return model.eval(), tokenizer, label


def _not_causal(found: str) -> None:
    raise InvalidInputError(
        found,
        "a causal language model (a *ForCausalLM / *LMHeadModel) that predicts the next token",
        "Load the model with AutoModelForCausalLM, or save one with save_pretrained.",
    )


def _encode(tokenizer: Any, prompts: Any, what: str) -> list[list[int]]:
    if isinstance(prompts, str) or not len(prompts):
        raise InvalidInputError(
            f"{what}={prompts!r}", "a non-empty list of prompt strings", "Pass a list."
        )
    closing = set(special_token_ids(tokenizer).tolist())
    rows = []
    for prompt in prompts:
        ids = list(tokenizer(str(prompt))["input_ids"])
        while len(ids) > 1 and ids[-1] in closing:  # the answer follows the prompt, not EOS
            ids.pop()
        rows.append(ids)
    return rows


def _answer_id(tokenizer: Any, answer: Any, vocab: int, where: str) -> int:
    """One token id from an id or a token string (a vocabulary entry, else its encoding)."""
    if isinstance(answer, int | np.integer) and not isinstance(answer, bool):
        if 0 <= int(answer) < vocab:
            return int(answer)
        found = f"{where} token id {int(answer)}"
    elif isinstance(answer, str):
        known = tokenizer.get_vocab().get(answer)
        ids = (
            [known]
            if known is not None
            else tokenizer(answer, add_special_tokens=False)["input_ids"]
        )
        if len(ids) == 1 and ids[0] != tokenizer.unk_token_id:
            return int(ids[0])
        pieces = tokenizer.convert_ids_to_tokens(ids)
        found = f"{where} {answer!r}, which encodes to {len(ids)} token(s) {pieces}"
    else:
        found = f"{where} of type {type(answer).__name__}"
    raise InvalidInputError(
        found,
        f"one token of the model's vocabulary (a token string or an id in [0, {vocab}))",
        "Pick answers that are single tokens (GPT-2 style tokens often start with a space).",
    )


def task_from_transformers(
    cls: Any,
    model_or_path: Any,
    clean_prompts: Any,
    counterfactual_prompts: Any,
    answers: Any,
    *,
    tokenizer: Any = None,
    behaviour: str = "logit_diff",
    name: str | None = None,
    ground_truth: Any = None,
) -> Any:
    """The fields of ``ComponentTask.from_transformers``, and the task (see there)."""
    model, tokenizer, label = _load(model_or_path, tokenizer)
    wrapped = HFComponents(model)
    clean = _encode(tokenizer, clean_prompts, "clean_prompts")
    counterfactual = _encode(tokenizer, counterfactual_prompts, "counterfactual_prompts")
    if len(counterfactual) != len(clean):
        raise InvalidInputError(
            f"{len(clean)} clean and {len(counterfactual)} counterfactual prompts",
            "one counterfactual prompt per clean prompt",
            "Pass the prompts as pairs of equal-length lists.",
        )
    for i, (c, x) in enumerate(zip(clean, counterfactual, strict=True)):
        if len(c) != len(x):
            raise InvalidInputError(
                f"pair {i}: the clean prompt {clean_prompts[i]!r} has {len(c)} tokens and its "
                f"counterfactual {counterfactual_prompts[i]!r} {len(x)}",
                "the same number of tokens in both prompts of a pair (patching aligns positions)",
                "Reword the counterfactual so that it tokenizes to as many tokens.",
            )
        if len(c) != len(clean[0]):
            raise InvalidInputError(
                f"pair {i} of {len(c)} tokens, pair 0 of {len(clean[0])}",
                "every pair of the same length (the behaviour is read at the last position)",
                "Build one task per prompt length.",
            )
    rows = np.asarray(answers, dtype=object)
    if rows.ndim != 2 or rows.shape != (len(clean), 2):
        raise InvalidInputError(
            f"answers of shape {rows.shape}",
            f"({len(clean)}, 2): the correct and the wrong next token of each pair",
            "Pass [[correct, wrong], ...] as token strings or ids, one row per prompt pair.",
        )
    ids = [
        [
            _answer_id(tokenizer, a, wrapped.vocab, f"the {kind} answer of pair {i}")
            for a, kind in zip(row, ("correct", "wrong"), strict=True)
        ]
        for i, row in enumerate(rows)
    ]
    return cls(
        name=name or f"transformers.{label}",
        model=wrapped,
        clean=np.asarray(clean, dtype=np.int64),
        counterfactual=np.asarray(counterfactual, dtype=np.int64),
        answers=np.asarray(ids, dtype=np.int64),
        behaviour=behaviour,
        ground_truth=ground_truth,
    )
