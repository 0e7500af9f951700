"""Per-sample random generators: a sample's draws never depend on the batch it came in."""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["sample_rngs"]


def sample_rngs(X: np.ndarray, seed: int) -> list[np.random.Generator]:
    """One generator per sample, seeded by (seed, the sample's content).

    A sample's random draws then do not depend on its position or on the batch it is
    explained or scored in, so batched and one-at-a-time results agree (the runner
    splits work into chunks of any size).
    """
    flat = np.ascontiguousarray(np.asarray(X, dtype=np.float64).reshape(len(X), -1))
    return [
        np.random.default_rng(
            [
                seed,
                *np.frombuffer(hashlib.blake2b(row.tobytes(), digest_size=16).digest(), np.uint32),
            ]
        )
        for row in flat
    ]
