"""Training shared by the built-in component tasks: the last position's next token, with
optional planting, and the cache they load from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ...errors import InvalidInputError
from ...tasks._cache import cached_torch
from .._common import check_choice
from ..model import TinyTransformer
from ..task import BEHAVIOURS

__all__ = ["check_builder_args", "cached_transformer", "fit_last_token", "planting"]

# draw(rng, n) -> (tokens (n, T), targets (n,)): a fresh batch of the task's distribution
Draw = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]


def check_builder_args(n_examples: Any, seed: Any, behaviour: object) -> tuple[int, int]:
    """``n_examples`` (a positive int), ``seed`` (a non-negative int) and ``behaviour`` (one of
    ``BEHAVIOURS``), checked before any model is built."""
    for name, value, least in (("n_examples", n_examples, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            what = "a positive integer" if least else "a non-negative integer"
            raise InvalidInputError(f"{name}={value!r}", what, f"Pass e.g. {name}={64 * least}.")
    check_choice("behaviour", behaviour, BEHAVIOURS)
    return int(n_examples), int(seed)


def planting(model: TinyTransformer, planted: Sequence[str], rows: int) -> list[Any]:
    """Hooks that give every head outside ``planted`` another row's write (rows rolled by
    one): only the planted heads can carry an example's own information. Returns the
    handles (remove them after training)."""
    handles = []
    for layer in range(model.n_layers):
        other = torch.tensor([f"a{layer}.h{h}" not in planted for h in range(model.n_heads)])
        if not other.any():
            continue

        def hook(_m: Any, _i: Any, out: torch.Tensor, other: torch.Tensor = other) -> Any:
            if out.shape[0] != rows:  # a batch of another size: not a training batch
                return None
            return torch.where(other[None, None, :, None], out.roll(1, dims=0), out)

        handles.append(model.block(layer).attn.hook_out.register_forward_hook(hook))
    return handles


def fit_last_token(
    model: TinyTransformer,
    draw: Draw,
    *,
    steps: int,
    seed: int,
    batch: int = 128,
    lr: float = 3e-3,
    planted: Sequence[str] | None = None,
) -> None:
    """Adam on the cross-entropy of the last position's token over ``steps`` fresh batches.

    With ``planted`` (head names), the other heads see another row's write during
    training (:func:`planting`), so the planted heads are the model's only carriers.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    handles = planting(model, planted, batch) if planted is not None else []
    model.train()
    try:
        for _ in range(steps):
            tokens, targets = draw(rng, batch)
            logits = model(torch.as_tensor(tokens))[:, -1]
            loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(targets))
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        for h in handles:
            h.remove()
    model.eval()


def cached_transformer(
    name: str, config: dict[str, int], train: Callable[[TinyTransformer], None], seed: int
) -> TinyTransformer:
    """A TinyTransformer of ``config``, trained by ``train`` once and cached as ``name``."""

    def build() -> TinyTransformer:
        torch.manual_seed(seed)
        return TinyTransformer(**config)

    model = cached_torch(name, build, train)
    assert isinstance(model, TinyTransformer)
    return model


def accuracy(model: TinyTransformer, tokens: Any, targets: Any) -> float:
    """Share of rows whose last-position argmax is the target."""
    with torch.no_grad():
        logits = model(torch.as_tensor(tokens))[:, -1]
    return float((logits.argmax(-1) == torch.as_tensor(targets)).double().mean())
