"""The README's "Inside the model" example runs as written and prints what it shows."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

pytest.importorskip("torch")

README = Path(__file__).resolve().parents[2] / "README.md"


def test_inside_the_model_example_runs(tmp_path, capsys):
    section = README.read_text().split("## Inside the model", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    script = tmp_path / "components_example.py"
    script.write_text(code)
    ns = runpy.run_path(str(script))
    printed = capsys.readouterr().out.splitlines()
    shown = [line[2:] for line in code.splitlines() if line.startswith("# components.")]
    assert printed[-len(shown) :] == shown  # the output in the comments is the real one
    assert printed[1] == "[ 1. -1.]"
    exact = ns["scores"]["components.activation_patching"]
    assert exact[2] == 1.0 and ns["scores"]["components.random"][0] < exact[0]
