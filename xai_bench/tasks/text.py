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
from ..errors import InvalidInputError
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


def encode(tokenizer: Any, texts: Any, max_length: int | None = None) -> tuple[np.ndarray, dict]:
    """Right-padded ``(n, L)`` int64 ids, plus a record of unknown words and truncation.

    Rows longer than ``max_length`` keep their first ``max_length`` tokens.
    """
    rows = [tokenizer(t, add_special_tokens=True)["input_ids"] for t in texts]
    unk = tokenizer.unk_token_id
    words = {w for t in texts for w in t.split()}
    # a word is unknown when the tokenizer maps any piece of it to the unk token
    unknown = sorted(w for w in words if unk in tokenizer(w, add_special_tokens=False)["input_ids"])
    truncated = [i for i, r in enumerate(rows) if max_length is not None and len(r) > max_length]
    rows = [r[:max_length] if max_length else r for r in rows]
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    X = np.full((len(rows), width), pad, dtype=np.int64)
    for i, r in enumerate(rows):
        X[i, : len(r)] = r
    record = {
        "unknown_words": unknown,
        "truncation": {"max_length": max_length, "policy": "keep_first", "rows": truncated},
    }
    return X, record


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


def ids_classifier(hf_model: Any, pad_token_id: int) -> Any:
    """Wrap a Hugging Face sequence classifier as a module ``ids (n, L) -> logits``.

    Padding gets attention mask 0, so right-padded rows score like unpadded ones.
    """
    from torch import nn

    class IdsClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = hf_model
            self.pad_token_id = pad_token_id

        def forward(self, ids: Any) -> Any:
            return self.model(
                input_ids=ids, attention_mask=(ids != self.pad_token_id).long()
            ).logits

    return IdsClassifier()


def module_path(root: Any, target: Any) -> str | None:
    """Attribute path of ``target`` inside ``root`` (e.g. ``"model.bert.embeddings.word_embeddings"``)."""
    return next((n for n, m in root.named_modules() if m is target and n), None)


def classification_task(
    model: Any,
    tokenizer: Any,
    texts: Any,
    *,
    labels: Any = None,
    name: str = "transformers.classifier",
    max_length: int | None = None,
    background_texts: Any = None,
) -> Task:
    """A text task around a Hugging Face sequence classifier (see ``Task.from_transformers``)."""
    from .generation import position_limit

    texts = [str(t) for t in texts]
    if not texts or any(not t.split() for t in texts):
        raise InvalidInputError(
            f"texts {texts[:4]!r}", "non-empty strings", "Remove empty or blank texts."
        )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad is None:
        raise InvalidInputError(
            "a tokenizer without pad and eos tokens", "a pad token id", "Set tokenizer.pad_token."
        )
    limit = max_length or position_limit(model)
    X, record = encode(tokenizer, texts, limit)
    module = ids_classifier(model, pad)
    embedding = module_path(module, model.get_input_embeddings())
    id2label = getattr(model.config, "id2label", None) or {}
    background = None if background_texts is None else encode(tokenizer, background_texts, limit)[0]
    return Task(
        name=name,
        modality=Modality.TEXT,
        X=X,
        predict_proba=torch_scorer(module),
        y=None if labels is None else np.asarray(labels),
        model=module,
        background=background,
        class_names=tuple(str(id2label[i]) for i in sorted(id2label)) or None,
        tokenizer=tokenizer,
        pad_token_id=pad,
        mask_token_id=tokenizer.mask_token_id,
        meta={**record, "embedding_layer": embedding, "model_output": "logits"},
    )
