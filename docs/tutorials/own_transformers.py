"""# Your transformers model

`Task.from_transformers` takes a model object, a hub name or a folder written by
`save_pretrained` (model and tokenizer). A sequence classifier gives a text task, a
causal LM a generation task. Here a small BERT is made, fitted for a few steps on four
texts and saved locally, then loaded from its folder.
"""

import tempfile

import torch
from transformers import BertConfig, BertForSequenceClassification

import xai_bench as xb
from xai_bench.tasks.text import build_tokenizer

texts = ["the movie was good", "what a dull film", "a fine and moving story", "boring plot"]
tokenizer = build_tokenizer(texts)
config = BertConfig(
    vocab_size=tokenizer.vocab_size,
    hidden_size=16,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=32,
    num_labels=2,
    pad_token_id=tokenizer.pad_token_id,
)
torch.manual_seed(0)
model = BertForSequenceClassification(config)
batch = tokenizer(texts, padding=True, return_tensors="pt")
labels = torch.tensor([1, 0, 1, 0])
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for _ in range(30):
    opt.zero_grad()
    model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels
    ).loss.backward()
    opt.step()
folder = tempfile.mkdtemp()
model.save_pretrained(folder)
tokenizer.save_pretrained(folder)

task = xb.Task.from_transformers(folder, texts=texts, labels=[1, 0, 1, 0])
print(task.name, task.modality.value, "token ids:", task.X.shape)
print(
    "special tokens are not features:",
    task.valid_mask(task.X).sum(axis=1),
    "valid of",
    task.X.shape[1],
)

expl = xb.get_explainer("lime.text", n_samples=100).explain(task, task.X)
res = xb.get_metric("comprehensiveness").score(task, task.X, expl)
print("comprehensiveness per text:", res.scores.round(3))
