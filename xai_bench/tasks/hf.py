"""Load Hugging Face models by object, hub name or local path (``Task.from_transformers``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from .._deps import require
from ..errors import InvalidInputError
from ..task import Task

KINDS = ("auto", "classification", "generation")


def _is_path(obj: Any) -> bool:
    return isinstance(obj, str) or hasattr(obj, "__fspath__")


def _kind_of(architectures: list[str]) -> str:
    causal = any("CausalLM" in a or "LMHead" in a for a in architectures)
    return "generation" if causal else "classification"


@contextlib.contextmanager
def _loading(source: Any) -> Iterator[None]:
    """Turn a failed hub/disk load into a found/expected/fix error."""
    try:
        yield
    except (OSError, ValueError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE") not in (None, "", "0")
        raise InvalidInputError(
            f"could not load {str(source)!r} ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            "a Hugging Face hub name or a local directory written by save_pretrained",
            "Check the name or path"
            + (" (HF_HUB_OFFLINE is set: only cached models load)" if offline else "")
            + ", or pass the loaded model and tokenizer objects.",
        ) from exc


def from_transformers(
    model_or_name_or_path: Any,
    tokenizer: Any = None,
    texts: Any = None,
    *,
    kind: str = "auto",
    labels: Any = None,
    name: str | None = None,
    max_length: int | None = None,
    max_new_tokens: int = 4,
    background_texts: Any = None,
) -> Task:
    """See :meth:`xai_bench.Task.from_transformers`."""
    transformers = require("transformers", "text")
    if kind not in KINDS:
        raise InvalidInputError(f"kind={kind!r}", f"one of {KINDS}", "Pick one of them.")
    source = model_or_name_or_path
    if _is_path(source):
        label = str(source).rstrip("/").split("/")[-1]
        if tokenizer is None:
            tokenizer = source
        with _loading(source):
            if kind == "auto":
                config = transformers.AutoConfig.from_pretrained(str(source))
                kind = _kind_of(list(config.architectures or []))
            auto = (
                transformers.AutoModelForCausalLM
                if kind == "generation"
                else transformers.AutoModelForSequenceClassification
            )
            model = auto.from_pretrained(str(source))
    else:
        model, label = source, type(source).__name__.lower()
        if kind == "auto":
            kind = _kind_of([type(model).__name__])
    if _is_path(tokenizer):
        with _loading(tokenizer):
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(tokenizer))
    if tokenizer is None or texts is None or isinstance(texts, str):
        raise InvalidInputError(
            f"tokenizer={type(tokenizer).__name__}, texts={type(texts).__name__}",
            "a tokenizer (or a name/path to load it from) and a list of texts",
            "Pass tokenizer=... and texts=[...] (a list, even for one text).",
        )
    model.eval()
    task_name = name or f"transformers.{label}"
    if kind == "generation":
        from .generation import causal_lm_task

        return causal_lm_task(
            model, tokenizer, texts, name=task_name, max_new_tokens=max_new_tokens
        )
    from .text import classification_task

    return classification_task(
        model, tokenizer, texts, labels=labels, name=task_name, max_length=max_length,
        background_texts=background_texts,
    )  # fmt: skip
