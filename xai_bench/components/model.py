"""A tiny transformer in plain torch whose component outputs are hookable one by one.

Every component writes into the residual stream through a :class:`HookPoint`: the
embeddings (``hook_emb``, (B, T, D)), each layer's heads (``blocks[l].attn.hook_out``,
(B, T, H, D): one slice per head, summed into the stream afterwards) and each MLP
(``blocks[l].hook_mlp``, (B, T, D)). Every reader input has one too: the heads' q, k and
v input (``attn.hook_q_in`` ..., (B, T, D); a hook may return (B, T, H, D) to give each
head its own), the MLP's (``hook_mlp_in``) and the unembedding's (``hook_logits_in``),
which is what edge patching needs. A forward hook on a hook point that returns a
tensor replaces that write, which is all patching needs. No layer norm and no output
biases: the heads' writes add up to the attention output exactly.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import InvalidInputError

__all__ = ["HookPoint", "TinyTransformer"]


class HookPoint(nn.Module):
    """Identity module: the place where a forward hook reads or replaces a write."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _project(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Per-head projection of the residual (B, T, D), or of per-head inputs (B, T, H, D)."""
    pattern = "btd,hde->bhte" if x.ndim == 3 else "bthd,hde->bhte"
    return torch.einsum(pattern, x, weight)


class Attention(nn.Module):
    """Causal multi-head attention returning each head's write separately."""

    def __init__(self, d_model: int, n_heads: int, d_head: int) -> None:
        super().__init__()
        shape_in, scale = (n_heads, d_model, d_head), 1 / math.sqrt(d_model)
        self.W_Q = nn.Parameter(torch.randn(shape_in) * scale)
        self.W_K = nn.Parameter(torch.randn(shape_in) * scale)
        self.W_V = nn.Parameter(torch.randn(shape_in) * scale)
        self.W_O = nn.Parameter(torch.randn(n_heads, d_head, d_model) / math.sqrt(d_head))
        self.hook_q_in, self.hook_k_in, self.hook_v_in = HookPoint(), HookPoint(), HookPoint()
        self.hook_pattern = HookPoint()
        self.hook_out = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (
            _project(hook(x), weight)
            for hook, weight in (
                (self.hook_q_in, self.W_Q),
                (self.hook_k_in, self.W_K),
                (self.hook_v_in, self.W_V),
            )
        )
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        t = x.shape[1]
        future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        pattern = self.hook_pattern(scores.masked_fill(future, float("-inf")).softmax(-1))
        return self.hook_out(torch.einsum("bhqk,bhke,hed->bqhd", pattern, v, self.W_O))


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_head: int, d_mlp: int) -> None:
        super().__init__()
        self.attn = Attention(d_model, n_heads, d_head)
        self.has_mlp = d_mlp > 0
        self.mlp = (
            nn.Sequential(nn.Linear(d_model, d_mlp), nn.ReLU(), nn.Linear(d_mlp, d_model))
            if self.has_mlp
            else nn.Identity()
        )
        self.hook_mlp_in = HookPoint()
        self.hook_mlp = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(x).sum(2)
        if self.has_mlp:
            x = x + self.hook_mlp(self.mlp(self.hook_mlp_in(x)))
        return x


class TinyTransformer(nn.Module):
    """Token + position embeddings, ``n_layers`` blocks, a linear unembedding.

    Parameters
    ----------
    vocab, n_ctx : int
        Vocabulary size and longest sequence.
    d_model, n_layers, n_heads, d_head : int
        Widths and depth.
    d_mlp : int
        MLP width; 0 makes the model attention-only (no ``m{layer}`` components).
    """

    def __init__(
        self,
        vocab: int,
        n_ctx: int,
        d_model: int = 32,
        n_layers: int = 2,
        n_heads: int = 4,
        d_head: int = 8,
        d_mlp: int = 0,
    ) -> None:
        super().__init__()
        for name, value in dict(vocab=vocab, n_ctx=n_ctx, d_model=d_model, n_layers=n_layers,
                                n_heads=n_heads, d_head=d_head).items():  # fmt: skip
            if int(value) < 1:
                raise InvalidInputError(
                    f"{name}={value}", "a positive integer", f"Set {name} >= 1."
                )
        self.vocab, self.n_ctx = vocab, n_ctx
        self.n_layers, self.n_heads, self.d_mlp = n_layers, n_heads, d_mlp
        self.W_E = nn.Parameter(torch.randn(vocab, d_model) / math.sqrt(d_model))
        self.W_pos = nn.Parameter(torch.randn(n_ctx, d_model) / math.sqrt(d_model))
        self.hook_emb = HookPoint()
        self.blocks = nn.ModuleList(Block(d_model, n_heads, d_head, d_mlp) for _ in range(n_layers))
        self.hook_logits_in = HookPoint()
        self.W_U = nn.Parameter(torch.randn(d_model, vocab) / math.sqrt(d_model))

    def block(self, layer: int) -> Block:
        """Block ``layer`` (typed, for hooks and hand-set weights)."""
        block = self.blocks[layer]
        assert isinstance(block, Block)
        return block

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, vocab) of integer tokens (B, T)."""
        x = self.hook_emb(self.W_E[tokens] + self.W_pos[: tokens.shape[1]])
        for block in self.blocks:
            x = block(x)
        return self.hook_logits_in(x) @ self.W_U
