"""The example plugin package, found through real entry-point discovery, passes check_explainer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

PLUGIN = Path(__file__).resolve().parent.parent / "plugin_example"


def install_on_path(
    root: Path, entry_points: dict[str, str], dist: str = "xai_bench_plugin_example"
) -> None:
    """What ``pip install --no-deps`` leaves behind: the package plus a dist-info with entry points."""
    shutil.copytree(PLUGIN / "xai_bench_plugin_example", root / "xai_bench_plugin_example")
    info = root / f"{dist}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[xai_bench.explainers]\n{lines}")


def run(root: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=root,
        env={
            # the plugin's root first, then this checkout (when tests run from a worktree)
            "PYTHONPATH": os.pathsep.join(
                [str(root), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "HF_HUB_OFFLINE": "1",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pyproject_declares_the_entry_point():
    meta = tomllib.loads((PLUGIN / "pyproject.toml").read_text())
    eps = meta["project"]["entry-points"]["xai_bench.explainers"]
    assert eps == {"example.occlusion": "xai_bench_plugin_example:Occlusion"}


def test_plugin_discovered_and_conformant(tmp_path):
    meta = tomllib.loads((PLUGIN / "pyproject.toml").read_text())
    install_on_path(tmp_path, meta["project"]["entry-points"]["xai_bench.explainers"])
    out = run(
        tmp_path,
        """
        import numpy as np, xai_bench as xb
        from xai_bench.testing import check_explainer
        assert "example.occlusion" in xb.list_explainers(), xb.list_explainers()
        task = xb.load_task("synthetic.linear")
        explainer = xb.get_explainer("example.occlusion", scale=2.0)
        report = check_explainer(explainer, task, n=3)
        assert set(report.values()) <= {"passed", "skipped: not stochastic"}, report
        # and it is a real explainer: dummy features 3-7 get exactly 0
        e = explainer.explain(task, task.X[:5])
        assert np.all(e.attributions[:, 3:] == 0) and np.all(e.attributions[:, :3] != 0)
        print("OK", e.meta["library"], e.params)
        """,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OK xai-bench-plugin-example {'scale': 2.0}" in out.stdout


def test_broken_plugin_is_unavailable_not_fatal(tmp_path):
    install_on_path(
        tmp_path,
        {
            "example.occlusion": "xai_bench_plugin_example:Occlusion",
            "example.broken": "xai_bench_plugin_example:DoesNotExist",
            "shap.kernel": "xai_bench_plugin_example:Occlusion",
        },
    )
    out = run(
        tmp_path,
        """
        import xai_bench as xb
        from xai_bench.registry import refused, unavailable
        try:
            xb.get_explainer("example.broken")
        except xb.InvalidInputError as exc:
            print("BROKEN:", exc)
        print("KERNEL:", type(xb.get_explainer("shap.kernel")).__module__)
        print("WORKS:", xb.get_explainer("example.occlusion").name)
        print("UNAVAILABLE:", sorted(unavailable()))
        print("REFUSED:", sorted(refused()))
        print("VALID:", "example.broken" in xb.list_explainers(), "shap.kernel" in xb.list_explainers())
        """,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "BROKEN: explainer 'example.broken' is unavailable" in out.stdout
    assert "DoesNotExist" in out.stdout
    assert "KERNEL: xai_bench.adapters.shap" in out.stdout  # a plugin cannot hijack a built-in id
    assert "WORKS: example.occlusion" in out.stdout
    assert "UNAVAILABLE: ['example.broken']" in out.stdout
    assert "REFUSED: ['shap.kernel']" in out.stdout
    assert "VALID: False True" in out.stdout  # once found broken, never offered as valid


def test_list_explainers_with_broken_and_clashing_plugins(tmp_path):
    install_on_path(
        tmp_path,
        {
            "example.occlusion": "xai_bench_plugin_example:Occlusion",
            "example.broken": "xai_bench_plugin_example:DoesNotExist",
            "shap.kernel": "xai_bench_plugin_example:Occlusion",
        },
    )
    out = run(
        tmp_path,
        "import sys; from xai_bench.cli import main; sys.exit(main(['list', 'explainers']))",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    valid, rest = out.stdout.split("\nunavailable explainers:\n")
    unavailable, refused = rest.split("\nrefused plugins (the built-in ids stay in use):\n")
    rows = {line.split()[0]: line.split()[1:] for line in valid.splitlines()}
    assert rows["shap.kernel"] == ["tabular"]  # the built-in, available
    assert rows["example.occlusion"] == ["image,", "tabular"]
    assert "example.broken" not in rows
    assert unavailable.strip().startswith(
        "example.broken: failed to load 'xai_bench_plugin_example:DoesNotExist' from"
        " xai_bench_plugin_example: AttributeError("
    )
    assert refused.strip() == (
        "shap.kernel: plugin 'xai_bench_plugin_example:Occlusion' from xai_bench_plugin_example"
        " claims the built-in id 'shap.kernel'; the built-in is used. Rename the plugin's"
        " entry point."
    )


def test_readme_adapter_example_passes_the_checks():
    import re

    readme = (PLUGIN.parent.parent / "README.md").read_text()
    section = readme[readme.index("## Writing an adapter") :]
    define, check = re.findall(r"```python\n(.*?)```", section, re.S)[:2]
    scope: dict = {}
    exec(define, scope)  # noqa: S102 - our own README
    call, printed = check.split("# {", 1)
    exec(call.replace("check_explainer(", "report = check_explainer("), scope)  # noqa: S102
    expected = eval("{" + printed.replace("\n#", ""))  # noqa: S307
    assert scope["report"] == expected
