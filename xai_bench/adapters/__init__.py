"""Adapters: one module per wrapped library, plus baselines (random, oracle)."""
