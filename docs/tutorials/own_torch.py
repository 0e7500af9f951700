"""# Your torch model

`Task.from_torch` wraps an `nn.Module` that returns logits (or probabilities, with
`output="probabilities"`). Gradient explainers (Captum, SHAP's deep and gradient
explainers) need a torch model; the black-box ones work on any task.
"""

import numpy as np
import torch
from torch import nn

import xai_bench as xb

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 6)).astype(np.float32)
y = (X[:, 0] + 2 * X[:, 1] > 0).astype(int)  # only features 0 and 1 matter

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
opt = torch.optim.Adam(net.parameters(), lr=0.05)
for _ in range(200):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(y))
    loss.backward()
    opt.step()

task = xb.Task.from_torch(net, X, y, feature_names=[f"x{i}" for i in range(6)], name="toy.mlp")
print(task.name, task.modality.value, "classes:", task.predict(X[:2]).shape[1])

for eid in ["captum.integrated_gradients", "captum.saliency", "random"]:
    expl = xb.get_explainer(eid).explain(task, X[:16])
    mean_abs = np.abs(expl.attributions).mean(axis=0)
    res = xb.get_metric("deletion_auc").score(task, X[:16], expl)
    print(f"{eid:28s} mean |phi| {np.round(mean_abs, 2)}  deletion AUC {res.mean:.3f}")
