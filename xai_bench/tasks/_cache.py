"""On-disk cache for built-in models: safe formats only (no pickle)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import building

CACHE_VERSION = "v1"


def cache_dir() -> Path:
    """``$XAI_BENCH_CACHE`` or ``~/.cache/xai-bench``, versioned."""
    root = os.environ.get("XAI_BENCH_CACHE") or Path.home() / ".cache" / "xai-bench"
    path = Path(root) / CACHE_VERSION
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_torch(name: str, build: Callable[[], Any], train: Callable[[Any], None]) -> Any:
    """A torch module built by ``build``; its trained weights are cached as safetensors."""
    from safetensors.torch import load_file, save_file

    module = build()
    path = cache_dir() / f"{name}.safetensors"
    if path.exists():
        try:
            module.load_state_dict(load_file(str(path)))
            module.eval()
            return module
        except Exception:  # a stale or truncated cache file: retrain and overwrite
            path.unlink(missing_ok=True)
    with building(name):
        train(module)
    module.eval()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(tmp))
    os.replace(tmp, path)  # atomic: concurrent workers never read a half-written file
    return module


# Types outside skops' own trusted set that the built-in tasks' models contain (the trees
# of gradient boosting). Nothing else is loaded: a planted file naming builtins.eval, or
# any other callable, is deleted and the model refitted.
TRUSTED_TYPES = frozenset({"sklearn.tree._tree.Tree"})


def cached_sklearn(name: str, fit: Callable[[], Any]) -> Any:
    """A fitted sklearn estimator cached with skops; loads only skops' default types and
    ``TRUSTED_TYPES``, otherwise refits."""
    import skops.io as sio

    path = cache_dir() / f"{name}.skops"
    if path.exists():
        try:
            untrusted = sio.get_untrusted_types(file=path)
            if set(untrusted) <= TRUSTED_TYPES:
                return sio.load(path, trusted=untrusted)
        except Exception:  # a stale or truncated cache file
            pass
        path.unlink(missing_ok=True)
    with building(name):
        est = fit()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    sio.dump(est, tmp)
    os.replace(tmp, path)
    return est


def fit_minibatch(model: Any, X: Any, y: Any, *, epochs: int, seed: int, lr: float = 3e-3) -> None:
    """Adam on cross-entropy over seeded shuffles in batches of 64: the built-in CNNs' training."""
    import torch

    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xb = torch.tensor(X, dtype=torch.float32)
    yb = torch.tensor(y, dtype=torch.long)
    order = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(xb), generator=order).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb[idx]), yb[idx]).backward()
            opt.step()
