"""ComponentTask.from_transformers: a tiny GPT-2 saved with save_pretrained, run through nnsight."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("nnsight")

from xai_bench.components import (  # noqa: E402
    ACDC,
    AblationMasker,
    ActivationIG,
    ActivationPatching,
    AttentionHeuristic,
    AttributionPatching,
    CausalTracing,
    ComponentTask,
    EdgeAttributionPatching,
    cmd,
    cpr,
)
from xai_bench.components.hf import HFComponents  # noqa: E402
from xai_bench.errors import IncompatibleError, InvalidInputError, MissingDependencyError  # noqa: E402

NAMES = ["mary", "john", "alice", "bob"]
WORDS = ["when", "and", "went", "to", "the", "store", ",", "gave", "a", "drink"]
CLEAN = [
    "when mary and john went to the store , john gave a drink to",
    "when alice and bob went to the store , bob gave a drink to",
    "when john and alice went to the store , alice gave a drink to",
]
COUNTERFACTUAL = [c.replace(", john", ", mary").replace(", bob", ", alice") for c in CLEAN[:2]]
COUNTERFACTUAL.append(CLEAN[2].replace(", alice", ", john"))
ANSWERS = [["mary", "john"], ["alice", "bob"], ["john", "alice"]]


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers

    special = ["<unk>", "<pad>", "<s>", "</s>"]
    # "mary~" is mary nudged: the small patch of the AtP test
    vocab = {t: i for i, t in enumerate([*special, *NAMES, "mary~", *WORDS])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
        eos_token="</s>",
    )  # fmt: skip


@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory):
    """A 2-layer, 4-head GPT-2 LM from a config, saved with save_pretrained (no training)."""
    folder = tmp_path_factory.mktemp("tiny-gpt2-lm")
    tok = _tokenizer()
    config = transformers.GPT2Config(
        vocab_size=len(tok), n_positions=16, n_embd=16, n_layer=2, n_head=4,
        bos_token_id=2, eos_token_id=3, pad_token_id=1, initializer_range=0.3,
    )  # fmt: skip
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config)
    with torch.no_grad():  # non-zero biases, so zero ablation is not trivially 0
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.1)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def hf_task(gpt2_folder):
    return ComponentTask.from_transformers(gpt2_folder, CLEAN, COUNTERFACTUAL, ANSWERS)


def _behaviour(task, logits):
    last = logits[:, -1]
    return (last.gather(1, task.answers[:, :1]) - last.gather(1, task.answers[:, 1:]))[:, 0]


def test_node_space_and_answers_from_a_saved_model(hf_task):
    assert hf_task.space.names == (
        "emb", "a0.h0", "a0.h1", "a0.h2", "a0.h3", "m0", "a1.h0", "a1.h1", "a1.h2", "a1.h3", "m1",
    )  # fmt: skip
    tok = _tokenizer()
    assert hf_task.answers.tolist() == [tok.convert_tokens_to_ids(a) for a in ANSWERS]
    assert hf_task.clean.shape == (3, 14) and hf_task.name.startswith("transformers.tiny-gpt2-lm")


@pytest.mark.parametrize("ablation", ["patching", "zero", "mean", "mean_positional"])
def test_masker_sanity_checks_hold_exactly(hf_task, ablation):
    """All kept = the clean run of the unwrapped model; none kept (patching) = counterfactual."""
    lm, n = hf_task.model.lm, len(hf_task.space)
    keep = np.array([np.ones(n, bool), np.zeros(n, bool)])
    m = AblationMasker(ablation).evaluate(hf_task, keep)
    # chunks that cut through a circuit's rows take the masker's other path: same numbers
    np.testing.assert_array_equal(AblationMasker(ablation, chunk_rows=2).evaluate(hf_task, keep), m)
    with torch.no_grad():
        clean = _behaviour(hf_task, lm(hf_task.clean).logits).double().numpy()
        counterfactual = _behaviour(hf_task, lm(hf_task.counterfactual).logits).double().numpy()
    np.testing.assert_array_equal(m[0], clean)
    if ablation == "patching":
        np.testing.assert_array_equal(m[1], counterfactual)
    else:
        assert np.abs(m[1] - clean).max() > 0.1  # the ablation did something


def _run(lm, tokens, patch=None):
    """Logits and every site's value (embeddings, c_proj's input, MLP outputs) under plain
    torch hooks; ``patch=(site, fn)`` replaces that site's value ``v`` by ``fn(v)``."""
    sites = [("emb", lm.transformer.drop, False)]
    for layer, block in enumerate(lm.transformer.h):
        sites += [(f"a{layer}", block.attn.c_proj, True), (f"m{layer}", block.mlp, False)]
    seen = {}

    def make(key, pre):
        def hook(_module, args, output=None):
            value = args[0] if pre else output
            seen[key] = value.detach().clone()
            if patch is None or patch[0] != key:
                return None
            new = patch[1](value)
            return (new,) if pre else new

        return hook

    handles = [
        m.register_forward_pre_hook(make(k, True))
        if pre
        else m.register_forward_hook(make(k, False))
        for k, m, pre in sites
    ]
    try:
        with torch.no_grad():
            return lm(tokens).logits, seen
    finally:
        for h in handles:
            h.remove()


def _torch_hook_effects(task):
    """Noising effect of every node (m(clean) - m(clean, node patched)) by plain torch hooks."""
    lm = task.model.lm
    d_head = lm.config.n_embd // lm.config.n_head
    clean_logits, _ = _run(lm, task.clean)
    _, cf = _run(lm, task.counterfactual)
    base = _behaviour(task, clean_logits)

    def swap(key, head):
        def fn(value):
            if head is None:
                return cf[key]
            new, cut = value.clone(), slice(head * d_head, (head + 1) * d_head)
            new[..., cut] = cf[key][..., cut]
            return new

        return key, fn

    effects = []
    for name in task.space.names:
        layer, _, head = name.partition(".h")
        logits, _ = _run(lm, task.clean, swap(layer, int(head) if head else None))
        effects.append((base - _behaviour(task, logits)).double().numpy())
    return np.stack(effects, axis=1)


def test_patching_through_nnsight_equals_plain_torch_hooks(hf_task):
    """Every head (its slice of c_proj's input), MLP and the embeddings, patched both ways."""
    explanation = ActivationPatching().explain(hf_task)
    reference = _torch_hook_effects(hf_task)
    assert np.abs(reference).max() > 0.01
    np.testing.assert_allclose(explanation.attributions, reference, rtol=0, atol=1e-6)


def test_zero_ablating_a_head_zeroes_its_slice(hf_task):
    """Zero ablation of a1.h2 = the clean run with head 2's slice (8:12) of c_proj's input zeroed."""
    lm = hf_task.model.lm
    keep = np.ones(len(hf_task.space), bool)
    keep[hf_task.space.index(["a1.h2"])] = False
    m = AblationMasker("zero").evaluate(hf_task, keep[None])[0]

    def zero_head(_module, args):
        z = args[0].clone()
        z[..., 8:12] = 0
        return (z,)

    handle = lm.transformer.h[1].attn.c_proj.register_forward_pre_hook(zero_head)
    try:
        with torch.no_grad():
            reference = _behaviour(hf_task, lm(hf_task.clean).logits).double().numpy()
    finally:
        handle.remove()
    np.testing.assert_allclose(m, reference, atol=1e-6)


def test_atp_matches_exact_patching_on_small_patches(gpt2_folder):
    """Counterfactual = "mary" swapped for "mary~", whose embedding differs by 1e-3: AtP's
    first-order error is second order, in both directions (float64 model)."""
    lm = transformers.GPT2LMHeadModel.from_pretrained(gpt2_folder).double()
    tok = _tokenizer()
    mary, nudged = tok.convert_tokens_to_ids(["mary", "mary~"])
    with torch.no_grad():
        torch.manual_seed(1)
        lm.transformer.wte.weight[nudged] = lm.transformer.wte.weight[mary] + 1e-3 * torch.randn(16)
    clean = [CLEAN[0], CLEAN[2]]
    task = ComponentTask.from_transformers(
        lm, clean, [c.replace("mary", "mary~") for c in clean], [ANSWERS[0], ANSWERS[2]],
        tokenizer=gpt2_folder,
    )  # fmt: skip
    for direction in ("noising", "denoising"):
        exact = ActivationPatching(direction).explain(task).attributions
        atp = AttributionPatching(direction).explain(task)
        assert atp.meta["passes"] == 2  # ablation values + one forward (and one backward)
        scale = np.abs(exact).max()
        assert 1e-5 < scale < 1e-2  # a small but real effect
        # measured: scale 5.1e-4, error 3.3e-7 in both directions
        assert np.abs(atp.attributions - exact).max() < 0.01 * scale


def test_gradient_and_metric_paths_run_unchanged(hf_task):
    """IG along each write converges to exact patching; CPR/CMD score an HF explanation; a
    pickled task (the nnsight wrapper dropped and rebuilt) patches the same."""
    exact = ActivationPatching().explain(hf_task)
    ig = ActivationIG(steps=16).explain(hf_task)
    # measured: 3.3e-4 at 16 steps against effects up to 0.66
    assert np.abs(ig.attributions - exact.attributions).max() < 2e-3
    assert 0 <= cpr(hf_task, exact).scores[0] <= 1 and cmd(hf_task, exact).scores[0] >= 0
    again = ActivationPatching().explain(pickle.loads(pickle.dumps(hf_task)))
    np.testing.assert_array_equal(again.attributions, exact.attributions)


def test_causal_tracing_restores_the_residual_stream_after_a_layer(hf_task):
    """The block's hook point is the residual after the layer: restoring the last layer's
    at the last position gives the clean behaviour back, exactly as restoring everything."""
    lm, t = hf_task.model.lm, hf_task.clean.shape[1]
    masks = np.zeros((3, t, 3), bool)  # columns: emb, resid0, resid1
    masks[1] = True
    masks[2, -1, 2] = True
    m = CausalTracing().evaluate(hf_task, masks, "residual")
    with torch.no_grad():
        clean = _behaviour(hf_task, lm(hf_task.clean).logits).double().numpy()
    assert np.abs(m[0] - clean).max() > 0.1  # the noise did damage
    np.testing.assert_allclose(m[1:], [clean, clean], atol=1e-5)
    traced = CausalTracing(restore="residual").explain(hf_task).meta["tracing"]
    assert traced["layers"] == ["emb", "resid0", "resid1"]


def test_neuron_space_patches_the_mlp_output_projection_input(hf_task):
    """All neurons of m1 patched = m1 patched (they are the input of its output projection)."""
    neurons = hf_task.neurons(1)
    assert len(neurons.space) == 64 and neurons.space.names[3] == "m1.n3"
    all_neurons = AblationMasker().evaluate(neurons, np.zeros((1, 64), bool))[0]
    keep = np.ones(len(hf_task.space), bool)
    keep[hf_task.space.index(["m1"])] = False
    np.testing.assert_allclose(
        all_neurons, AblationMasker().evaluate(hf_task, keep[None])[0], atol=1e-6
    )


def test_llama_layout_passes_the_sanity_checks():
    config = transformers.LlamaConfig(
        vocab_size=len(_tokenizer()), hidden_size=16, intermediate_size=24, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=16,
    )  # fmt: skip
    torch.manual_seed(0)
    lm = transformers.LlamaForCausalLM(config)
    task = ComponentTask.from_transformers(
        lm, CLEAN, COUNTERFACTUAL, ANSWERS, tokenizer=_tokenizer()
    )
    assert task.space.names[:2] == ("emb", "a0.h0") and len(task.space) == 11
    m = AblationMasker().evaluate(task, np.array([[True] * 11, [False] * 11]))
    with torch.no_grad():
        for row, tokens in enumerate((task.clean, task.counterfactual)):
            expected = _behaviour(task, lm(tokens).logits).double().numpy()
            np.testing.assert_array_equal(m[row], expected)


def test_byte_level_answers_and_closing_tokens():
    """GPT-2 style BPE: " mary" and "Ġmary" name one token; a closing </s> is not the prompt's end."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "<pad>", "</s>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )  # fmt: skip
    core.train_from_iterator((CLEAN + COUNTERFACTUAL) * 4, trainer)
    core.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    config = transformers.GPT2Config(
        vocab_size=len(tok), n_positions=32, n_embd=8, n_layer=1, n_head=2
    )
    lm = transformers.GPT2LMHeadModel(config)
    task = ComponentTask.from_transformers(
        lm, CLEAN[:2], COUNTERFACTUAL[:2], [[" mary", "Ġjohn"], [" alice", " bob"]], tokenizer=tok
    )
    words = tok.convert_ids_to_tokens(task.answers.reshape(-1).tolist())
    assert words == ["Ġmary", "Ġjohn", "Ġalice", "Ġbob"]
    first, last = tok.convert_ids_to_tokens(task.clean[0, [0, -1]].tolist())
    assert (first, last) == ("<s>", "Ġto")


# -- bad input -----------------------------------------------------------------------


def test_unequal_prompt_lengths_name_the_pair(gpt2_folder):
    counterfactual = [COUNTERFACTUAL[0], COUNTERFACTUAL[1].replace(", alice", ", alice and bob")]
    with pytest.raises(InvalidInputError, match=r"pair 1: .* has 14 tokens .* 16"):
        ComponentTask.from_transformers(gpt2_folder, CLEAN[:2], counterfactual, ANSWERS[:2])
    short = ["when mary and john went to the store , john gave a drink"]
    with pytest.raises(InvalidInputError, match="pair 1 of 13 tokens, pair 0 of 14"):
        ComponentTask.from_transformers(
            gpt2_folder, CLEAN[:1] + short, COUNTERFACTUAL[:1] + short, ANSWERS[:2]
        )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("zebra", r"'zebra', which encodes to 1 token\(s\) \['<unk>'\]"),
        ("mary john", r"encodes to 2 token\(s\)"),
        (999, "token id 999"),
    ],
)
def test_unknown_answer_tokens_raise(gpt2_folder, answer, message):
    with pytest.raises(InvalidInputError, match=f"the wrong answer of pair 0.*{message}"):
        ComponentTask.from_transformers(
            gpt2_folder, CLEAN[:1], COUNTERFACTUAL[:1], [["mary", answer]]
        )


def test_answers_as_ids_equal_answers_as_strings(gpt2_folder, hf_task):
    task = ComponentTask.from_transformers(
        gpt2_folder, CLEAN, COUNTERFACTUAL, hf_task.answers.numpy(), name="ids"
    )
    assert task.answers.tolist() == hf_task.answers.tolist() and task.name == "ids"


def test_a_model_that_is_not_a_causal_lm_is_refused(tmp_path):
    config = transformers.GPT2Config(vocab_size=30, n_positions=16, n_embd=8, n_layer=1, n_head=2)
    transformers.GPT2ForSequenceClassification(config).save_pretrained(tmp_path)
    _tokenizer().save_pretrained(tmp_path)
    with pytest.raises(InvalidInputError, match="GPT2ForSequenceClassification.*causal language"):
        ComponentTask.from_transformers(tmp_path, CLEAN[:1], COUNTERFACTUAL[:1], ANSWERS[:1])
    bert = transformers.BertModel(transformers.BertConfig(vocab_size=30, hidden_size=8,
        num_hidden_layers=1, num_attention_heads=2, intermediate_size=8))  # fmt: skip
    with pytest.raises(InvalidInputError, match="BertModel; expected a causal language"):
        ComponentTask.from_transformers(bert, CLEAN[:1], COUNTERFACTUAL[:1], ANSWERS[:1],
                                        tokenizer=_tokenizer())  # fmt: skip


@pytest.mark.parametrize(
    ("explainer", "hook"),
    [
        (EdgeAttributionPatching(), "hook_q_in"),
        (ACDC(), "hook_q_in"),
        (AttentionHeuristic(), "hook_pattern"),
    ],
)
def test_edges_and_patterns_are_refused_as_incompatible(hf_task, explainer, hook):
    with pytest.raises(IncompatibleError, match=f"no hook point '{hook}'"):
        explainer.explain(hf_task)


def test_the_package_imports_without_nnsight(monkeypatch, hf_task):
    """nnsight blocked: xai_bench.components imports; wrapping a model names the extra."""
    code = "import sys; sys.modules['nnsight'] = None; import xai_bench.components"
    subprocess.run([sys.executable, "-c", code], check=True)
    monkeypatch.setitem(sys.modules, "nnsight", None)
    with pytest.raises(MissingDependencyError, match=r"xai-bench\[components\] is not installed"):
        HFComponents(hf_task.model.lm)
