"""ComponentTask: a model, clean and counterfactual inputs, and the behaviour to explain."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import torch

from ..errors import InvalidInputError
from ..task import Modality
from .space import ComponentSpace, neuron_space, node_space

__all__ = ["BEHAVIOURS", "ComponentTask"]

BEHAVIOURS = ("logit_diff", "prob")


def _tokens(value: Any, what: str) -> torch.Tensor:
    array = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value)
    if array.ndim != 2 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
        raise InvalidInputError(
            f"{what} of shape {array.shape} and dtype {array.dtype}",
            "a non-empty integer array of token ids, shape (n_examples, seq_len)",
            f"Pass {what} as token ids, one row per example.",
        )
    return torch.as_tensor(array, dtype=torch.long)


@dataclass(frozen=True, eq=False)
class ComponentTask:
    """What a component explainer explains: the behaviour of ``model`` on ``clean`` inputs.

    Parameters
    ----------
    name : str
        Task id.
    model : TinyTransformer or HFComponents
        The model; its components form the node space.
    clean, counterfactual : int array (B, T)
        Inputs and their counterfactuals (same shape; patching swaps one for the other).
    answers : int array (B, 2)
        Per example the correct and the wrong answer token at the last position.
    behaviour : {"logit_diff", "prob"}
        ``logit_diff``: logit(correct) - logit(wrong); ``prob``: softmax probability of
        the correct token.
    ground_truth : sequence of str, optional
        The planted components, when known (names of the task's space).
    neuron_layer : int, optional
        Explain the neurons ``m{layer}.n{i}`` of this MLP layer instead of the node space.
    """

    name: str
    model: Any
    clean: Any
    counterfactual: Any
    answers: Any
    behaviour: str = "logit_diff"
    ground_truth: tuple[str, ...] | None = None
    neuron_layer: int | None = None
    space: ComponentSpace = field(init=False)
    modality: ClassVar[Modality] = Modality.COMPONENTS

    def __post_init__(self) -> None:
        clean = _tokens(self.clean, "clean")
        counterfactual = _tokens(self.counterfactual, "counterfactual")
        answers = _tokens(self.answers, "answers")
        if counterfactual.shape != clean.shape:
            raise InvalidInputError(
                f"counterfactual inputs of shape {tuple(counterfactual.shape)}",
                f"the clean inputs' shape {tuple(clean.shape)}",
                "Give one counterfactual of the same length per clean example.",
            )
        if answers.shape != (clean.shape[0], 2):
            raise InvalidInputError(
                f"answers of shape {tuple(answers.shape)}",
                f"({clean.shape[0]}, 2): the correct and the wrong token per example",
                "Stack [correct, wrong] token ids, one row per clean example.",
            )
        space = (
            node_space(self.model)
            if self.neuron_layer is None
            else neuron_space(self.model, self.neuron_layer)
        )
        vocab, n_ctx = self.model.vocab, self.model.n_ctx
        for what, ids in (
            ("clean", clean),
            ("counterfactual", counterfactual),
            ("answers", answers),
        ):
            if int(ids.min()) < 0 or int(ids.max()) >= vocab:
                raise InvalidInputError(
                    f"{what} token ids in [{int(ids.min())}, {int(ids.max())}]",
                    f"ids in [0, {vocab}) (the model's vocabulary)",
                    "Encode the inputs with the model's vocabulary.",
                )
        if clean.shape[1] > n_ctx:
            raise InvalidInputError(
                f"sequences of length {clean.shape[1]}",
                f"at most the model's context of {n_ctx}",
                "Shorten the inputs.",
            )
        if self.behaviour not in BEHAVIOURS:
            raise InvalidInputError(
                f"behaviour={self.behaviour!r}", f"one of {BEHAVIOURS}", "Pick a listed behaviour."
            )
        truth = None
        if self.ground_truth is not None:
            truth = tuple(self.ground_truth)
            space.index(list(truth))  # unknown names raise here, with the valid ones
        object.__setattr__(self, "clean", clean)
        object.__setattr__(self, "counterfactual", counterfactual)
        object.__setattr__(self, "answers", answers)
        object.__setattr__(self, "ground_truth", truth)
        object.__setattr__(self, "space", space)

    @classmethod
    def from_transformers(
        cls,
        model_or_path: Any,
        clean_prompts: Any,
        counterfactual_prompts: Any,
        answers: Any,
        *,
        tokenizer: Any = None,
        behaviour: str = "logit_diff",
        name: str | None = None,
        ground_truth: Any = None,
    ) -> ComponentTask:
        """A task on a Hugging Face causal LM (object, hub name or local path), via nnsight.

        The node space is ``emb``, every head ``a{l}.h{h}`` (its slice of the attention
        output projection's input) and every MLP ``m{l}``; see :mod:`.hf`. Each clean
        prompt and its counterfactual must encode to the same number of tokens, and all
        pairs to one length. ``answers`` holds per pair the correct and the wrong next
        token, as token strings or ids. Needs ``xai-bench[components]`` (nnsight).
        """
        from .hf import task_from_transformers

        return task_from_transformers(
            cls,
            model_or_path,
            clean_prompts,
            counterfactual_prompts,
            answers,
            tokenizer=tokenizer,
            behaviour=behaviour,
            name=name,
            ground_truth=ground_truth,
        )

    @property
    def n_examples(self) -> int:
        return int(self.clean.shape[0])

    def neurons(self, layer: int, ground_truth: Any = None) -> ComponentTask:
        """The same task over the neurons of MLP ``layer`` (truth: neuron names, optional)."""
        return replace(self, neuron_layer=layer, ground_truth=ground_truth)

    # the runner's view of a task (xai_bench.runner): a row of X is one example's index
    @property
    def X(self) -> np.ndarray:
        """Example indices (B,): the runner's chunks of rows select examples by them."""
        return np.arange(self.n_examples)

    @property
    def y(self) -> np.ndarray:
        """The correct answer token per example."""
        return self.answers[:, 0].numpy()

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.space.names

    @property
    def feature_shape(self) -> tuple[int, ...]:
        return (len(self.space),)

    @property
    def meta(self) -> dict[str, Any]:
        return {"behaviour": self.behaviour, "seq_len": int(self.clean.shape[1])}

    output_kind = property(lambda self: self.behaviour)
    class_names = tokenizer = None

    def select(self, X: Any) -> ComponentTask:
        """The task on the examples whose indices (rows of ``self.X``) are ``X``."""
        rows = np.asarray(X)
        if rows.ndim != 1 or rows.dtype.kind not in "iu" or rows.size == 0:
            raise InvalidInputError(
                f"X of shape {rows.shape} and dtype {rows.dtype}",
                "example indices (rows of task.X), a non-empty 1-D integer array",
                "Pass task.X[...] (component tasks select examples by index).",
            )
        if rows.min() < 0 or rows.max() >= self.n_examples:
            raise InvalidInputError(
                f"example indices in [{rows.min()}, {rows.max()}]",
                f"indices in [0, {self.n_examples})",
                "Pass rows of task.X.",
            )
        if np.array_equal(rows, self.X):
            return self
        index = torch.as_tensor(rows)
        return replace(
            self,
            clean=self.clean[index],
            counterfactual=self.counterfactual[index],
            answers=self.answers[index],
        )

    def swapped(self) -> ComponentTask:
        """The same task run from the counterfactual inputs (answers unchanged)."""
        return replace(self, clean=self.counterfactual, counterfactual=self.clean)

    def score(self, logits: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """The behaviour (N,) of logits (N, T, vocab) whose rows are examples ``rows`` (N,)."""
        last = logits[:, -1, :]
        answers = self.answers[rows]
        correct = last.gather(1, answers[:, :1])[:, 0]
        if self.behaviour == "prob":
            return last.softmax(-1).gather(1, answers[:, :1])[:, 0]
        return correct - last.gather(1, answers[:, 1:])[:, 0]

    def truth_mask(self) -> np.ndarray:
        """Bool (F,): True for the ground-truth components (raises when there are none)."""
        if self.ground_truth is None:
            raise InvalidInputError(
                f"task {self.name!r} without ground truth",
                "a task with planted components",
                "Use a planted task, or pass ground_truth=[...] to ComponentTask.",
            )
        mask = np.zeros(len(self.space), dtype=bool)
        mask[self.space.index(list(self.ground_truth))] = True
        return mask
