"""Generation task units and Task.from_transformers on tiny models saved locally."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.errors import InvalidInputError
from xai_bench.tasks.generation import causal_lm_task
from xai_bench.tasks.text import build_tokenizer, sentiment_corpus

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def gen():
    return xb.load_task("generation.tiny_gpt")


def test_generation_units_match_greedy_generation(gen):
    assert gen.modality is xb.Modality.GENERATION and "generation.tiny_gpt" in xb.list_tasks()
    units, prompts = gen.meta["units"], gen.meta["prompt_ids"]
    assert len(units) == len(gen.X) == len(gen.y) >= 8
    present = gen.pad_token_id != gen.X  # model input: BOS and the prefix's tokens
    for row, (seq, step) in enumerate(units):
        prefix = gen.X[row][present[row]]
        # a unit's prefix is the prompt plus the tokens generated at earlier steps
        assert prefix.tolist()[: len(prompts[seq])] == prompts[seq]
        assert len(prefix) == len(prompts[seq]) + step
        if step:
            prev = units.index((seq, step - 1))
            assert prefix[-1] == gen.y[prev]
    # the target of each unit is the model's greedy next token, batched or not
    np.testing.assert_array_equal(gen.predicted(gen.X), gen.y)
    one = np.array([gen.predict(gen.X[i : i + 1])[0] for i in range(3)])
    np.testing.assert_allclose(gen.predict(gen.X[:3]), one, atol=1e-6)
    assert gen.predict(gen.X[:2]).shape == (2, len(gen.tokenizer))
    assert all(
        t.startswith(p)
        for t, p in zip(gen.meta["generated_texts"], gen.meta["prompts"], strict=True)
    )


@pytest.fixture(scope="session")
def saved_models(tmp_path_factory, gen):
    corpus = sentiment_corpus()
    tok = build_tokenizer(corpus.texts)
    cfg = transformers.BertConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=8, pad_token_id=tok.pad_token_id,
        num_labels=2, id2label={0: "negative", 1: "positive"},
    )  # fmt: skip
    torch.manual_seed(0)
    bert = transformers.BertForSequenceClassification(cfg)
    cls_dir = tmp_path_factory.mktemp("tiny-bert")
    bert.save_pretrained(cls_dir)
    tok.save_pretrained(cls_dir)
    lm_dir = tmp_path_factory.mktemp("tiny-gpt")
    gen.model.save_pretrained(lm_dir)
    gen.tokenizer.save_pretrained(lm_dir)
    return cls_dir, lm_dir, bert


def test_from_transformers_classifier_by_path(saved_models, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cls_dir, _, bert = saved_models
    texts = [
        "the movie was zorblax good",
        "what a dull film",
        "i think this movie is really very good indeed",
    ]
    task = xb.Task.from_transformers(cls_dir, texts=texts, labels=[1, 0, 1])
    assert task.modality is xb.Modality.TEXT and task.class_names == ("negative", "positive")
    assert task.meta["unknown_words"] == ["indeed", "very", "zorblax"]
    assert task.meta["truncation"]["rows"] == [2] and task.X.shape[1] == 8  # position limit
    assert task.meta["embedding_layer"] == "model.bert.embeddings.word_embeddings"
    ids = torch.tensor(task.X)
    with torch.no_grad():
        bert.eval()
        ref = bert(input_ids=ids, attention_mask=(ids != task.pad_token_id).long()).logits
    np.testing.assert_allclose(task.predict(task.X), ref.softmax(-1).numpy(), atol=1e-5)
    # padding is not a feature and does not change the score
    np.testing.assert_allclose(task.predict(task.X[:1, :5]), task.predict(task.X[:1]), atol=1e-5)


def test_from_transformers_causal_lm_by_path(saved_models, gen, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _, lm_dir, _ = saved_models
    task = xb.Task.from_transformers(lm_dir, texts=list(gen.meta["prompts"]), max_new_tokens=3)
    assert task.modality is xb.Modality.GENERATION
    np.testing.assert_array_equal(task.X, gen.X)
    np.testing.assert_array_equal(task.y, gen.y)
    np.testing.assert_allclose(task.predict(task.X), gen.predict(gen.X), atol=1e-6)


def test_prompts_past_the_position_limit(gen):
    long_prompt = " ".join(["the movie"] * 20)  # 41 tokens, limit 32
    with pytest.raises(InvalidInputError, match="position limit"):
        causal_lm_task(gen.model, gen.tokenizer, [long_prompt], truncation="error")
    task = causal_lm_task(gen.model, gen.tokenizer, [long_prompt, "what a"], max_new_tokens=2)
    assert task.meta["truncation"]["rows"] == [0]
    assert task.X.shape[1] <= 32 and len(task.meta["prompt_ids"][0]) == 30
    # the scorer refuses over-long prefixes with a clear error instead of torch's IndexError
    too_long = np.resize(gen.X[0][gen.valid_mask(gen.X)[0]], 40)[None]
    with pytest.raises(InvalidInputError, match="position limit of 32"):
        gen.predict(too_long)
    padded = np.full((1, 40), gen.pad_token_id)
    padded[0, : gen.X.shape[1]] = gen.X[0]  # trailing padding past the limit is fine
    np.testing.assert_allclose(gen.predict(padded), gen.predict(gen.X[:1]))


def test_bad_from_transformers_calls(saved_models):
    cls_dir, _, _ = saved_models
    with pytest.raises(InvalidInputError, match="list of texts"):
        xb.Task.from_transformers(cls_dir, texts="one text")
    with pytest.raises(InvalidInputError, match="non-empty"):
        xb.Task.from_transformers(cls_dir, texts=["ok text", "   "])


def test_from_transformers_with_model_objects(saved_models, gen):
    _, _, bert = saved_models
    tok = build_tokenizer(sentiment_corpus().texts)
    task = xb.Task.from_transformers(bert, tok, ["what a dull film"])
    assert (
        task.modality is xb.Modality.TEXT
        and task.name == "transformers.bertforsequenceclassification"
    )
    lm = xb.Task.from_transformers(gen.model, gen.tokenizer, ["what a"], max_new_tokens=2)
    assert lm.modality is xb.Modality.GENERATION
    np.testing.assert_array_equal(lm.y, gen.y[[gen.meta["units"].index((4, s)) for s in range(2)]])


def test_unloadable_name_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InvalidInputError, match="HF_HUB_OFFLINE is set"):
        xb.Task.from_transformers("no-such-org/no-such-model", texts=["hello"])
    with pytest.raises(InvalidInputError, match="could not load"):
        xb.Task.from_transformers(tmp_path, texts=["hello"])  # an empty directory


def test_captum_layer_ig_on_a_loaded_bert(saved_models):
    cls_dir, _, _ = saved_models
    task = xb.Task.from_transformers(cls_dir, texts=["the movie was good", "what a dull film"])
    ex = xb.get_explainer("captum.layer_integrated_gradients", n_steps=128).explain(task, task.X)
    valid = task.valid_mask(task.X)
    baseline = np.where(valid, task.mask_token_id, task.X)
    rows = np.arange(2)
    gap = task.predict(task.X)[rows, ex.targets] - task.predict(baseline)[rows, ex.targets]
    np.testing.assert_allclose(ex.attributions.sum(1), gap, rtol=0.02, atol=1e-6)
    assert np.abs(gap).min() > 1e-4  # an untrained model, but not a vacuous check
    assert (ex.attributions[~valid] == 0).all()
    assert ex.meta["embedding_layer"] == "model.bert.embeddings.word_embeddings"


@pytest.mark.parametrize("kind", ["tiny_gpt", "bpe"])
def test_bos_is_model_input_but_not_a_feature(gen, bos_lm_task, kind):
    """BOS starts every prefix (the model sees it) but, like padding, is not a feature."""
    task = gen if kind == "tiny_gpt" else bos_lm_task
    tok = task.tokenizer
    present = task.pad_token_id != task.X
    assert (task.X[:, 0] == tok.bos_token_id).all()
    assert all(ids[0] == tok.bos_token_id for ids in task.meta["prompt_ids"])
    valid = task.valid_mask(task.X)
    expected = present.copy()
    expected[:, 0] = False
    np.testing.assert_array_equal(valid, expected)
    tokens = task.token_strings(task.X)  # the report's token views
    assert [len(t) for t in tokens] == valid.sum(axis=1).tolist()
    assert tok.bos_token not in {t for row in tokens for t in row}
    # the scorer still feeds BOS: dropping it changes the next-token distribution
    p = task.predict(task.X[:1])
    shifted = np.full_like(task.X[:1], task.pad_token_id)
    n = int(present[0].sum())
    shifted[0, : n - 1] = task.X[0, 1:n]
    assert np.abs(task.predict(shifted) - p).max() > 1e-3


def test_tiny_gpt_declares_version_2_in_what_a_run_stores(gen):
    """Version 2 of generation.tiny_gpt changed its numbers (BOS is no longer a feature):
    the version is in the task's meta, which a run stores with the task."""
    from xai_bench.runner.benchmark import _task_info

    assert gen.meta["version"] == 2
    assert _task_info(gen, 2)[0]["meta"]["version"] == 2
