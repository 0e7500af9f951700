"""Text classification tasks on a generated sentiment corpus with known evidence words.

Sentences come from templates; each holds one or two sentiment words that decide
the label (the ground truth), among neutral filler. A word-level tokenizer is built
locally (``tokenizers`` WordLevel wrapped in ``transformers.PreTrainedTokenizerFast``),
so one word is one token and ``Task.texts`` is a plain join. Inputs are ``(n, L)``
token ids right-padded with ``pad_token_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from .._deps import require
from .._hf import encode
from ..task import Modality, Task, torch_scorer
from ._cache import cached_sklearn, cached_torch

SEED = 0
SPECIAL_TOKENS = {"pad": "[PAD]", "unk": "[UNK]", "bos": "[BOS]", "eos": "[EOS]", "mask": "[MASK]"}
POSITIVE = ("good", "great", "excellent", "wonderful", "amazing", "delightful", "superb")
NEGATIVE = ("bad", "awful", "terrible", "boring", "poor", "dreadful", "dull")
NOUNS = ("movie", "film", "plot", "book", "show", "story", "acting", "music", "ending", "cast")
TEMPLATES = (
    "the {noun} was {ev}",
    "i think this {noun} is really {ev}",
    "honestly the {noun} felt {ev} to me",
    "my friend said the {noun} is {ev}",
    "overall a {ev} {noun} with a {ev2} {noun2}",
    "what a {ev} {noun}",
    "we watched it yesterday and the {noun} was {ev} , the {noun2} too",
    "{ev} {noun} .",
)
CLASSES = ("negative", "positive")


@dataclass(frozen=True)
class Corpus:
    texts: tuple[str, ...]
    labels: np.ndarray  # (n,) 0 negative, 1 positive
    evidence: tuple[frozenset[int], ...]  # word positions of the sentiment words


@cache
def sentiment_corpus(n: int = 800, seed: int = SEED) -> Corpus:
    """``n`` templated sentences, balanced labels, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    texts, labels, evidence = [], [], []
    for i in range(n):
        label = i % 2
        words = POSITIVE if label else NEGATIVE
        fill = {
            "noun": rng.choice(NOUNS), "noun2": rng.choice(NOUNS),
            "ev": rng.choice(words), "ev2": rng.choice(words),
        }  # fmt: skip
        template = TEMPLATES[rng.integers(len(TEMPLATES))]
        tokens = template.split()
        out, ev = [], set()
        for j, tok in enumerate(tokens):
            if tok in ("{ev}", "{ev2}"):
                ev.add(j)
            out.append(tok.format(**fill))
        texts.append(" ".join(out))
        labels.append(label)
        evidence.append(frozenset(ev))
    return Corpus(tuple(texts), np.array(labels), tuple(evidence))


def build_tokenizer(texts: Any, *, add_bos: bool = False) -> Any:
    """A word-level ``PreTrainedTokenizerFast`` over the words of ``texts``.

    Vocabulary: the special tokens, then the sorted words (deterministic).
    ``add_bos=True`` makes encoding prepend ``[BOS]`` (used by the causal LM).
    """
    require("tokenizers", "text")
    require("transformers", "text")
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = sorted({w for t in texts for w in t.split()})
    vocab = {tok: i for i, tok in enumerate([*SPECIAL_TOKENS.values(), *words])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIAL_TOKENS["unk"]))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    if add_bos:
        bos = SPECIAL_TOKENS["bos"]
        core.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", special_tokens=[(bos, vocab[bos])]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=core, **{f"{k}_token": v for k, v in SPECIAL_TOKENS.items()}
    )


def ids_to_texts(tokenizer: Any, X: Any, pad_token_id: int) -> list[str]:
    """Space-joined tokens of each row, padding dropped (word-level tokenizer: the text)."""
    return [
        " ".join(tokenizer.convert_ids_to_tokens([int(t) for t in row if t != pad_token_id]))
        for row in np.asarray(X)
    ]


def _evidence_mask(corpus: Corpus, shape: tuple[int, int], offset: int = 0) -> np.ndarray:
    truth = np.zeros(shape, dtype=bool)
    for i, ev in enumerate(corpus.evidence):
        truth[i, [offset + j for j in ev]] = True
    return truth


@cache
def _data() -> tuple[Any, np.ndarray, np.ndarray, Corpus, Corpus]:
    corpus = sentiment_corpus()
    tok = build_tokenizer(corpus.texts)
    n_train = 600
    train = Corpus(corpus.texts[:n_train], corpus.labels[:n_train], corpus.evidence[:n_train])
    test = Corpus(corpus.texts[n_train:], corpus.labels[n_train:], corpus.evidence[n_train:])
    X_tr, _ = encode(tok, train.texts)
    X_te, _ = encode(tok, test.texts)
    return tok, X_tr, X_te, train, test


def tiny_encoder_classifier(vocab_size: int, pad_token_id: int, n_classes: int = 2) -> Any:
    """A one-layer BERT-style encoder classifier: ids -> logits.

    Token + position embeddings (``embedding`` is the token embedding Captum hooks),
    one self-attention block that ignores padding, masked mean pooling, a linear head.
    """
    import torch
    from torch import nn

    class EncoderClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pad_token_id = pad_token_id
            self.embedding = nn.Embedding(vocab_size, 32)
            self.position = nn.Embedding(64, 32)
            self.encoder = nn.TransformerEncoderLayer(
                32, 2, dim_feedforward=64, dropout=0.1, batch_first=True
            )
            self.head = nn.Linear(32, n_classes)

        def forward(self, ids: Any) -> Any:
            keep = ids != self.pad_token_id
            pos = torch.arange(ids.shape[1], device=ids.device)
            h = self.embedding(ids) + self.position(pos)[None]
            # the slow path (not the nested-tensor fast path) keeps autograd hooks working
            h = self.encoder(h, src_key_padding_mask=~keep)
            w = keep.to(h.dtype).unsqueeze(-1)
            return self.head((h * w).sum(1) / w.sum(1).clamp(min=1))

    return EncoderClassifier()


@cache
def sentiment_transformer() -> Task:
    """Tiny BERT-style torch classifier on the sentiment corpus (evidence words as ground truth)."""
    require("torch", "torch")
    import torch
    from torch import nn

    tok, X_tr, X_te, train, test = _data()
    pad, mask = tok.pad_token_id, tok.mask_token_id

    def build() -> nn.Module:
        torch.manual_seed(SEED)
        return tiny_encoder_classifier(len(tok), pad)

    def fit(model: nn.Module) -> None:
        torch.manual_seed(SEED)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        xb, yb = torch.tensor(X_tr), torch.tensor(train.labels)
        gen = torch.Generator().manual_seed(SEED)
        model.train()
        for _ in range(12):
            for idx in torch.randperm(len(xb), generator=gen).split(32):
                ids = xb[idx].clone()
                # random [MASK]ing teaches the model that a mask token carries no evidence
                drop = (torch.rand(ids.shape, generator=gen) < 0.15) & (ids != pad)
                ids[drop] = mask
                opt.zero_grad()
                nn.functional.cross_entropy(model(ids), yb[idx]).backward()
                opt.step()

    model = cached_torch("sentiment_transformer", build, fit)
    task = Task(
        name="sentiment.transformer", modality=Modality.TEXT, X=X_te,
        predict_proba=torch_scorer(model), y=test.labels, model=model, class_names=CLASSES,
    )  # fmt: skip
    return _text_task(task, tok, test, X_tr, {"embedding_layer": "embedding"})


@cache
def sentiment_tfidf() -> Task:
    """scikit-learn TF-IDF + logistic regression; ``model`` is the text pipeline itself."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    tok, X_tr, X_te, train, test = _data()
    pad = tok.pad_token_id

    def fit() -> Any:
        # token_pattern keeps every whitespace-separated word, so the pipeline sees
        # the model tokens (and "[mask]" is an unknown, i.e. removed, word)
        vec = TfidfVectorizer(token_pattern=r"\S+", lowercase=True)
        return make_pipeline(vec, LogisticRegression(C=10.0, max_iter=1000)).fit(
            list(train.texts), train.labels
        )

    pipe = cached_sklearn("sentiment_tfidf", fit)

    def predict_proba(ids: Any) -> np.ndarray:
        return pipe.predict_proba(ids_to_texts(tok, ids, pad))

    task = Task(
        name="sentiment.tfidf", modality=Modality.TEXT, X=X_te, predict_proba=predict_proba,
        y=test.labels, model=pipe, class_names=CLASSES,
    )  # fmt: skip
    return _text_task(task, tok, test, X_tr, {"model_input": "text"})


def _text_task(task: Task, tok: Any, test: Corpus, X_tr: np.ndarray, meta: dict) -> Task:
    from dataclasses import replace

    task = replace(
        task,
        tokenizer=tok,
        pad_token_id=tok.pad_token_id,
        mask_token_id=tok.mask_token_id,
        background=X_tr,
        ground_truth=_evidence_mask(test, task.X.shape),
        meta={**task.meta, **meta, "model_output": "logits" if task.is_torch else "probabilities"},
    )
    acc = float((task.predicted(task.X) == task.y).mean())
    return replace(task, meta={**task.meta, "accuracy": round(acc, 4)})
