"""mkdocs hook: generates the reference pages, runs the tutorials and builds the gallery.

Everything is made from the code at build time (see ``xb_docs.py``), so the site cannot
drift from it; a tutorial that fails fails the build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import xb_docs  # noqa: E402

# script in docs/tutorials -> the page its code and output go to
SCRIPTS = {
    "tabular": "tutorials/tabular.md",
    "image": "tutorials/image.md",
    "text": "tutorials/text.md",
    "generation": "tutorials/generation.md",
    "components": "tutorials/components.md",
    "own_sklearn": "getting-started/sklearn.md",
    "own_torch": "getting-started/torch.md",
    "own_transformers": "getting-started/transformers.md",
}


def _suite(name: str, config: list[str]) -> list[str]:
    """``xai-bench run [CONFIG] --quick`` writing NAME.html in the build's temp dir."""
    cli = ["-m", "xai_bench.cli", "run", *config, "--quick"]
    return [*cli, "--store", f"{name}.sqlite", "-o", f"{name}.html"]


# the gallery's reports: the default suite and every example config, quick settings
SUITES = {"default": _suite("default", [])}
SUITES |= {
    f"example-{name}": _suite(f"example-{name}", [str(path)])
    for name, path in xb_docs.example_configs().items()
}
TUTORIAL_TIMEOUT = 300  # seconds each; under a minute alone, slower on a busy machine
_state: dict[str, Any] = {}


def _env() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")
    root = str(xb_docs.ROOT)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def _run_tutorial(name: str, out: Path, args: list[str] | None = None) -> tuple[str, str, float]:
    """Run docs/tutorials/NAME.py (or ``python ARGS``) in ``out``; a failure fails the build."""
    cmd = [sys.executable, *(args or [str(HERE / "tutorials" / f"{name}.py")])]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd,
            cwd=out,
            env=dict(_env(), XB_DOCS_OUT=str(out)),
            capture_output=True,
            text=True,
            timeout=TUTORIAL_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise PluginError(f"tutorial {name} took over {TUTORIAL_TIMEOUT}s") from exc
    if proc.returncode != 0:
        raise PluginError(
            f"tutorial {name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    return name, proc.stdout, time.perf_counter() - t0


def on_config(config: Any) -> Any:
    # expand the "Explainers" entry of the nav into one page per library in the registry
    libs = list(xb_docs.explainer_pages())
    for section in config["nav"]:
        if isinstance(section, dict) and "Reference" in section:
            items = section["Reference"]
            for i, item in enumerate(items):
                if isinstance(item, dict) and item.get("Explainers") == "reference/explainers.md":
                    items[i] = {
                        "Explainers": ["reference/explainers.md"]
                        + [f"reference/explainers/{lib}.md" for lib in libs]
                    }
    return config


def on_pre_build(config: Any) -> None:
    out = Path(tempfile.mkdtemp(prefix="xb-docs-"))
    _state["out"] = out
    if os.environ.get("XB_DOCS_NO_RUN"):  # editing the pages only: never set in CI
        _state["tutorials"] = {name: ("(not run: XB_DOCS_NO_RUN is set)", 0.0) for name in SCRIPTS}
        _state["screenshot"] = False
        for name in [*SCRIPTS, *SUITES]:
            (out / f"{name}.html").write_text("<p>not built: XB_DOCS_NO_RUN is set</p>")
        return
    with ThreadPoolExecutor(max_workers=2) as pool:
        # the gallery's suites (`xai-bench run [config] --quick`), beside the tutorials
        suites = [pool.submit(_run_tutorial, name, out, args) for name, args in SUITES.items()]
        _state["tutorials"] = {
            name: (stdout, secs)
            for name, stdout, secs in pool.map(lambda n: _run_tutorial(n, out), SCRIPTS)
        }
        for job in suites:
            job.result()
    _state["screenshot"] = _screenshot(out / "tabular.html", out / "report.png")


def _screenshot(report: Path, png: Path) -> bool:
    """A PNG of the report's top, by headless chromium; False when chromium is missing."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists() or not report.exists():
        return False
    try:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--screenshot={png}",
                "--window-size=1280,1500",
                report.as_uri(),
            ],
            capture_output=True,
            timeout=60,
            check=True,
        )
    except (subprocess.SubprocessError, OSError):
        return False
    return png.exists()


def on_files(files: Files, config: Any) -> Files:
    def add(path: str, content: str | bytes) -> None:
        files.append(File.generated(config, path, content=content))

    pages = xb_docs.explainer_pages()
    add("reference/explainers.md", xb_docs.explainers_index(pages))
    for lib, md in pages.items():
        add(f"reference/explainers/{lib}.md", md)
    add("reference/metrics.md", xb_docs.metrics_page())
    out: Path = _state["out"]
    for name, (stdout, secs) in _state["tutorials"].items():
        script = (HERE / "tutorials" / f"{name}.py").read_text(encoding="utf-8")
        report = out / f"{name}.html"
        if report.exists():
            add(f"gallery/{name}.html", report.read_bytes())
        add(SCRIPTS[name], xb_docs.tutorial_page(name, script, stdout, secs, report.exists()))
    for name in SUITES:
        add(f"gallery/{name}.html", (out / f"{name}.html").read_bytes())
    if _state["screenshot"]:
        add("assets/report.png", (out / "report.png").read_bytes())
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    return xb_docs.expand(markdown, screenshot=bool(_state.get("screenshot")))


def on_post_build(config: Any) -> None:
    shutil.rmtree(_state.pop("out", ""), ignore_errors=True)
