"""Shared fixtures: offline, single-threaded, tiny, built once per session."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    # a shared cache for the whole session, so tiny models train once
    if "XAI_BENCH_CACHE" not in os.environ:
        os.environ["XAI_BENCH_CACHE"] = str(tmp_path_factory.mktemp("xai-bench-cache"))


# -- Hugging Face tokenizers that add special tokens, saved to folders ---------------------
#: Texts for the tokenizer fixtures: a two-token text (closed-form Shapley values),
#: words split into several tokens, punctuation, and rows of different lengths.
SPECIAL_TOKEN_TEXTS = ["the movie", "the movie was wonderful", "what a dreadful plot , honestly"]


def _wordpiece_bert(folder):
    """BERT-style: WordPiece with [CLS] $A [SEP], long words split in two pieces."""
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    from xai_bench.tasks.text import sentiment_corpus

    words = {w for t in sentiment_corpus().texts for w in t.split()}
    pieces = {p for w in words for p in ((w[:4], "##" + w[4:]) if len(w) > 6 else (w,))}
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {t: i for i, t in enumerate([*special, *sorted(pieces)])}
    core = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    core.normalizer = normalizers.BertNormalizer(lowercase=True)
    core.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    core.decoder = decoders.WordPiece()
    tok = transformers.BertTokenizerFast(
        tokenizer_object=core, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]",
    )  # fmt: skip
    config = transformers.BertConfig(
        vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32, pad_token_id=0, num_labels=2,
        initializer_range=0.5,  # untrained, but far from constant outputs
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)


def _byte_level_gpt2(folder, single="<s> $A </s>", head="GPT2ForSequenceClassification"):
    """GPT-2 style: byte-level BPE trained on the corpus, ``single`` (<s> $A </s>) added by a
    post-processor; ``head`` names the transformers GPT-2 class saved with it."""
    import torch
    import transformers
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer

    from xai_bench.tasks.text import sentiment_corpus

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<mask>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )  # fmt: skip
    core.train_from_iterator(sentiment_corpus().texts, trainer)
    core.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    core.post_processor = processors.TemplateProcessing(
        single=single, special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        mask_token="<mask>",
    )  # fmt: skip
    config = transformers.GPT2Config(
        vocab_size=len(tok), n_positions=32, n_embd=16, n_layer=1, n_head=2, num_labels=2,
        pad_token_id=1, bos_token_id=0, eos_token_id=2, initializer_range=0.5,
    )  # fmt: skip
    torch.manual_seed(0)
    getattr(transformers, head)(config).save_pretrained(folder)
    tok.save_pretrained(folder)


@pytest.fixture(scope="session")
def special_token_folders(tmp_path_factory):
    """``{"wordpiece": folder, "bpe": folder}``: tiny classifiers saved with save_pretrained."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    folders = {
        "wordpiece": tmp_path_factory.mktemp("bert-wp"),
        "bpe": tmp_path_factory.mktemp("gpt2-bpe"),
    }
    _wordpiece_bert(folders["wordpiece"])
    _byte_level_gpt2(folders["bpe"])
    return folders


@pytest.fixture(scope="session")
def special_token_tasks(special_token_folders):
    """The two folders loaded through ``Task.from_transformers`` on the same texts."""
    import xai_bench as xb

    return {
        k: xb.Task.from_transformers(folder, texts=SPECIAL_TOKEN_TEXTS, name=f"special.{k}")
        for k, folder in special_token_folders.items()
    }


@pytest.fixture(scope="session")
def bos_lm_task(tmp_path_factory):
    """A generation task: the byte-level BPE tokenizer adding only <s> (GPT-2 style LMs add BOS,
    not EOS, to a prompt) and a tiny GPT2LMHeadModel, saved and loaded by Task.from_transformers."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import torch
    import transformers

    import xai_bench as xb
    from xai_bench.tasks.text import sentiment_corpus

    folder = tmp_path_factory.mktemp("gpt2-bpe-lm")
    _byte_level_gpt2(folder, single="<s> $A", head="GPT2LMHeadModel")
    # a few steps of language modelling, so greedy steps are words that decode and re-encode
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    lm = transformers.GPT2LMHeadModel.from_pretrained(folder)
    batch = tok(sentiment_corpus().texts[:256], padding=True, return_tensors="pt")
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    opt = torch.optim.Adam(lm.parameters(), lr=1e-2)
    torch.manual_seed(0)
    for _ in range(40):
        opt.zero_grad()
        lm(**batch, labels=labels).loss.backward()
        opt.step()
    lm.save_pretrained(folder)
    return xb.Task.from_transformers(
        folder, texts=SPECIAL_TOKEN_TEXTS, max_new_tokens=3, name="special.bpe_lm"
    )
