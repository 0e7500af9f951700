"""The README's Python example runs as written and produces what it promises."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_python_example_runs(tmp_path, monkeypatch, capsys):
    text = README.read_text()
    section = text.split("## Using it from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    script = tmp_path / "example.py"
    script.write_text(code)
    monkeypatch.chdir(tmp_path)
    ns = runpy.run_path(str(script))
    frame = ns["results"].to_frame()
    assert set(frame["explainer"]) == {"random", "captum.integrated_gradients", "shap.kernel"}
    assert len(frame) == 3 * 2 * 64
    assert (tmp_path / "reports" / "demo.html").stat().st_size > 10_000
    assert (tmp_path / "runs" / "demo.sqlite").exists()
    assert 0.0 <= ns["res"].scores.mean() <= 1.0


def test_output_kinds_example_runs(tmp_path, monkeypatch):
    section = README.read_text().split("**Output kinds.**", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    script = tmp_path / "kinds.py"
    script.write_text(code)
    ns = runpy.run_path(str(script))
    assert ns["tree"].meta["output_space"] == "prediction"
    assert ns["ig"].meta["output_space"] == "probability" and (ns["ig"].targets == 1).all()
    assert ns["res"].params["space"] == "prediction"


def test_quick_start_has_exactly_two_commands():
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 2 and all(len(b.strip().splitlines()) == 1 for b in blocks)
    assert "xai-bench run" in blocks[0] and "pytest" in blocks[1]
    ci = (README.parent / ".ci" / "run").read_text()
    assert blocks[1].strip() in ci  # CI runs the README's test command verbatim
