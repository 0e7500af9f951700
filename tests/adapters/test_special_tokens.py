"""Special tokens ([CLS]/[SEP], <s>/</s>) of real Hugging Face tokenizers are not features.

Both tokenizers are built offline and loaded from a save_pretrained folder through
Task.from_transformers (fixtures in tests/conftest.py): WordPiece with [CLS] $A [SEP],
and GPT-2 style byte-level BPE with <s> $A </s> added by a post-processor.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import xai_bench as xb

TEXT_EXPLAINERS = ["shap.partition", "lime.text", "eli5.text", "captum.layer_integrated_gradients"]
KINDS = ["wordpiece", "bpe"]


@pytest.fixture(scope="module")
def explanations(special_token_tasks):
    return {
        (k, e): xb.get_explainer(e).explain(task, task.X)
        for k, task in special_token_tasks.items()
        for e in TEXT_EXPLAINERS
    }


@pytest.mark.parametrize("kind", KINDS)
def test_special_tokens_are_outside_the_valid_mask(special_token_tasks, kind):
    task = special_token_tasks[kind]
    tok = task.tokenizer
    opening, closing = (tok.cls_token_id, tok.sep_token_id) if kind == "wordpiece" else (
        tok.bos_token_id, tok.eos_token_id)  # fmt: skip
    expected = task.pad_token_id != task.X
    rows, last = np.arange(len(task.X)), expected.sum(axis=1) - 1
    # the tokenizer added its special tokens around every text
    assert (task.X[:, 0] == opening).all() and (task.X[rows, last] == closing).all()
    valid = task.valid_mask(task.X)
    expected[:, 0] = False
    expected[rows, last] = False
    np.testing.assert_array_equal(valid, expected)
    # per-sample token views (the report's) show the text's tokens only
    tokens = task.token_strings(task.X)
    assert [len(t) for t in tokens] == valid.sum(axis=1).tolist()
    specials = {tok.cls_token, tok.sep_token, tok.bos_token, tok.eos_token} - {None}
    assert len(specials) == 2 and not specials & {t for row in tokens for t in row}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", TEXT_EXPLAINERS)
def test_special_positions_get_exactly_zero(special_token_tasks, explanations, kind, name):
    task, ex = special_token_tasks[kind], explanations[kind, name]
    valid = task.valid_mask(task.X)
    np.testing.assert_array_equal(ex.mask, valid)
    assert (ex.attributions[~valid] == 0.0).all()
    assert (np.abs(ex.attributions[valid]) > 0).mean() > 0.7  # the text's tokens are attributed


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["lime.text", "eli5.text"])
def test_word_weights_land_on_the_word_pieces(special_token_tasks, explanations, kind, name):
    """'wonderful' (row 1) and 'dreadful' (row 2) are two tokens each, at the same positions
    in both tokenizers: a word's weight is split evenly over exactly its two pieces."""
    task, attr = special_token_tasks[kind], explanations[kind, name].attributions
    pieces = task.token_strings(task.X)
    assert "".join(pieces[1][3:5]).lstrip("Ġ").replace("##", "") == "wonderful"
    assert "".join(pieces[2][2:4]).lstrip("Ġ").replace("##", "") == "dreadful"
    assert attr[1, 4] == attr[1, 5] and attr[2, 3] == attr[2, 4]
    assert attr[1, 4] != 0 or attr[2, 3] != 0


@pytest.mark.parametrize("kind", KINDS)
def test_partition_shap_two_tokens_closed_form(special_token_tasks, explanations, kind):
    """Row 0 has two tokens between its special tokens: Owen values are the Shapley values
    of the two players, each masked by the mask token with the special tokens in place."""
    task, ex = special_token_tasks[kind], explanations[kind, "shap.partition"]
    x, t, m = task.X[0], ex.targets[0], task.mask_token_id
    assert task.valid_mask(task.X)[0].tolist()[:4] == [False, True, True, False]

    def f(keep_a, keep_b):
        row = x.copy()
        row[1], row[2] = (x[1] if keep_a else m), (x[2] if keep_b else m)
        return task.predict(row[None])[0, t]

    phi_a = 0.5 * ((f(1, 1) - f(0, 1)) + (f(1, 0) - f(0, 0)))
    phi_b = 0.5 * ((f(1, 1) - f(1, 0)) + (f(0, 1) - f(0, 0)))
    np.testing.assert_allclose(ex.attributions[0, 1:3], [phi_a, phi_b], atol=1e-6)
    assert abs(phi_a) + abs(phi_b) > 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_layer_ig_completeness_keeps_special_tokens(special_token_tasks, explanations, kind):
    task, ex = special_token_tasks[kind], explanations[kind, "captum.layer_integrated_gradients"]
    valid = task.valid_mask(task.X)
    baseline = np.where(valid, task.mask_token_id, task.X)  # [CLS]/[SEP] stay in the baseline
    rows = np.arange(len(task.X))
    gap = task.predict(task.X)[rows, ex.targets] - task.predict(baseline)[rows, ex.targets]
    np.testing.assert_allclose(ex.attributions.sum(1), gap, rtol=0.05, atol=2e-3)
    assert np.abs(gap).max() > 1e-2


@pytest.mark.parametrize("kind", KINDS)
def test_deletion_never_removes_a_special_token(special_token_tasks, explanations, kind):
    task = special_token_tasks[kind]
    seen = []

    def recording(batch):
        seen.append(np.array(batch, copy=True))
        return task.predict_proba(batch)

    spy = replace(task, predict_proba=recording)
    ex = explanations[kind, "shap.partition"]
    # attributions that rank the special positions first, with no mask or one that
    # marks every position as a feature: the special tokens are still never removed
    loud = np.where(ex.mask, ex.attributions, 1e6)
    for mask in (None, np.ones_like(ex.mask)):
        xb.get_metric("deletion_auc", steps=4).score(
            spy, task.X, replace(ex, attributions=loud, mask=mask)
        )
    rows = np.concatenate(seen)
    assert len(rows) > len(task.X)
    fixed = ~task.valid_mask(task.X)  # special tokens and padding of each original row
    for r in rows:
        assert any((r[f] == x[f]).all() for x, f in zip(task.X, fixed, strict=True))
    assert (rows == task.mask_token_id).any()  # tokens were removed, just not those


def test_readme_from_transformers_example_runs_as_written(special_token_folders, monkeypatch):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = next(
        c for c in re.findall(r"```python\n(.*?)```", readme, re.S) if "from_transformers" in c
    )
    folder = str(special_token_folders["wordpiece"])
    ns: dict = {}
    exec(compile(code.replace("path/to/saved_model", folder), "README", "exec"), ns)  # noqa: S102
    task = ns["task"]
    assert task.modality is xb.Modality.TEXT and len(task.X) == len(ns["texts"])
    assert ns["expl"].attributions.shape == task.X.shape


@pytest.mark.parametrize("kind", KINDS)
def test_truncation_keeps_the_closing_special_token(special_token_folders, kind):
    task = xb.Task.from_transformers(
        special_token_folders[kind], texts=["what a dreadful plot , honestly"], max_length=5
    )
    tok = task.tokenizer
    closing = tok.sep_token_id if kind == "wordpiece" else tok.eos_token_id
    assert task.X.shape == (1, 5) and task.X[0, -1] == closing
    assert task.meta["truncation"]["rows"] == [0] and task.valid_mask(task.X)[0].sum() == 3


def test_generation_prompts_do_not_end_with_the_eos_the_tokenizer_adds(special_token_folders):
    """A causal LM continues the prompt, not an EOS appended by the post-processor."""
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    tok = transformers.AutoTokenizer.from_pretrained(special_token_folders["bpe"])
    assert tok("the movie")["input_ids"][-1] == tok.eos_token_id
    config = transformers.GPT2Config(
        vocab_size=len(tok), n_positions=16, n_embd=16, n_layer=1, n_head=2
    )
    torch.manual_seed(0)
    lm = transformers.GPT2LMHeadModel(config)
    task = xb.Task.from_transformers(lm, tok, ["the movie"], max_new_tokens=1)
    assert task.meta["prompt_ids"] == [tok("the movie")["input_ids"][:-1]]  # <s> the Ġmovie
    assert task.X[0, : len(task.meta["prompt_ids"][0])].tolist() == task.meta["prompt_ids"][0]
