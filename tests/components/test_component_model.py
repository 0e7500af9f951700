"""The tiny transformer: named components, per-head writes that add up, hookable writes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import TinyTransformer, node_space  # noqa: E402
from xai_bench.errors import InvalidInputError  # noqa: E402


def test_node_space_names_every_component_in_layer_order(random_task):
    assert random_task.space.names == (
        "emb", "a0.h0", "a0.h1", "a0.h2", "m0", "a1.h0", "a1.h1", "a1.h2", "m1",
    )  # fmt: skip
    assert random_task.space.index(["m1", "a0.h2"]) == [8, 3]


def test_attention_only_model_has_no_mlp_components(planted):
    assert not any(n.startswith("m") for n in planted.space.names)
    assert len(planted.space) == 1 + 3 * 4


def test_head_writes_add_up_to_the_residual_stream(random_task):
    model, tokens = random_task.model, random_task.clean
    writes = []
    handles = [
        s.hook.register_forward_hook(lambda m, i, o: writes.append(o))
        for s in random_task.space.sites
    ]
    with torch.no_grad():
        logits = model(tokens)
    for h in handles:
        h.remove()
    emb, a0, m0, a1, m1 = writes
    assert a0.shape == (6, 5, 3, 16) and m0.shape == (6, 5, 16)
    resid = emb + a0.sum(2) + m0 + a1.sum(2) + m1
    torch.testing.assert_close(logits, resid @ model.W_U)


def test_a_hook_replacing_one_head_changes_the_output(random_task):
    site = random_task.space.sites[1]
    with torch.no_grad():
        before = random_task.model(random_task.clean)
        handle = site.hook.register_forward_hook(lambda m, i, o: torch.zeros_like(o))
        after = random_task.model(random_task.clean)
        handle.remove()
    assert not torch.allclose(before, after)


def test_bad_model_and_widths_are_refused():
    with pytest.raises(InvalidInputError, match="TinyTransformer"):
        node_space(torch.nn.Linear(2, 2))
    with pytest.raises(InvalidInputError, match="n_heads=0"):
        TinyTransformer(vocab=4, n_ctx=3, n_heads=0)
