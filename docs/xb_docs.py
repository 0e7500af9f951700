"""Reference pages generated from the code: explainers from the registry and the adapters'
``Capabilities``, metrics from their ``MetricInfo``, the config schema from the pydantic
model, and README sections included verbatim. Pure functions (the mkdocs hook in
``hooks.py`` writes their output as pages), so a test can call them directly."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

from xai_bench._upstream import resolve_upstream_defaults

ROOT = Path(__file__).resolve().parents[1]
BASELINES = "baselines"  # page of the ids without a "library." prefix (random, oracle)


def _md(value: Any) -> str:
    """A value as inline code, pipes escaped for tables."""
    text = repr(value) if not isinstance(value, str) else repr(value)
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _upstream_cell(value: Any) -> str:
    """An upstream default: a value as code, a sentence (a default described) as text."""
    if isinstance(value, str) and " " in value:
        return _cell(value)
    return _md(value)


def _summary(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.split("\n\n")[0].replace("\n", " ").replace("|", "\\|").strip()


def _defaults(cls: type) -> dict[str, Any]:
    try:
        sig = inspect.signature(cls.__init__)  # type: ignore[misc]
    except (TypeError, ValueError):
        return {}
    return {
        p.name: p.default
        for p in sig.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


def _values(items: Any) -> str:
    return ", ".join(sorted(getattr(m, "value", str(m)) for m in items)) or "—"


def library_of(explainer_id: str) -> str:
    """The page an explainer id belongs on: its prefix before the first dot."""
    return explainer_id.split(".", 1)[0] if "." in explainer_id else BASELINES


def explainer_rows() -> list[dict[str, Any]]:
    """One row per explainer id in the registry (built-ins, registered, plugins)."""
    from xai_bench import registry

    rows = []
    for eid in registry.list_explainers():
        row: dict[str, Any] = {"id": eid, "library": library_of(eid)}
        try:
            cls = registry.explainer_class(eid)
        except Exception as exc:  # a missing extra: say so on the page rather than hide the id
            row["error"] = f"{type(exc).__name__}: {exc}"
            rows.append(row)
            continue
        caps = getattr(cls, "capabilities", None)
        row.update(
            cls=_dotted(cls),
            upstream=getattr(cls, "library", "") or "",
            summary=_summary(cls),
            modalities=_values(getattr(caps, "modalities", ())),
            requires=_values(getattr(caps, "requires", ())),
            output_space=getattr(caps, "output_space", "—"),
            stochastic=bool(getattr(caps, "stochastic", False)),
            global_only=bool(getattr(caps, "global_only", False)),
            defaults=_defaults(cls),
            upstream_defaults=resolve_upstream_defaults(cls),
        )
        rows.append(row)
    return rows


def _dotted(cls: type) -> str:
    """``module.Name`` under which ``cls`` can be imported (adapters made by a factory
    have a ``__qualname__`` that differs from the module attribute holding them)."""
    import sys

    module = sys.modules.get(cls.__module__)
    attr = next((k for k, v in vars(module).items() if v is cls), None) if module else None
    return f"{cls.__module__}.{attr or cls.__qualname__}"


def explainer_pages() -> dict[str, str]:
    """``{library: markdown}``: one page per wrapped library."""
    by_lib: dict[str, list[dict[str, Any]]] = {}
    for row in explainer_rows():
        by_lib.setdefault(row["library"], []).append(row)
    return {lib: _explainer_page(lib, rows) for lib, rows in sorted(by_lib.items())}


def readme_library_notes(lib: str) -> str | None:
    """The README's ``### <Library>`` subsection of "Explainers" (notes, and the defaults:
    ours beside upstream's), or None when it has none."""
    try:
        text = readme_section("Explainers", demote=0)
    except KeyError:
        return None
    m = re.search(rf"^### {re.escape(lib)}\b.*$", text, flags=re.M | re.I)
    if not m:
        return None
    body = text[m.end() :]
    nxt = re.search(r"^### ", body, flags=re.M)
    return (body[: nxt.start()] if nxt else body).strip()


def _explainer_page(lib: str, rows: list[dict[str, Any]]) -> str:
    title = "Baselines (random, oracle)" if lib == BASELINES else f"{lib} explainers"
    out = [
        f"# {title}",
        "",
        "_Generated from the registry and each adapter's declared `Capabilities`._",
        "",
        "| id | modalities | output space | stochastic | requires | summary |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            out.append(f"| `{r['id']}` | unavailable: {r['error']} | | | | |")
            continue
        out.append(
            f"| [`{r['id']}`](#{_anchor(r['id'])}) | {r['modalities']} | `{r['output_space']}` | "
            f"{'yes' if r['stochastic'] else 'no'} | {r['requires']} | {_cell(r['summary'])} |"
        )
    notes = readme_library_notes(lib)
    if notes:
        out += ["", "## Notes and defaults (ours beside upstream's)", "", "_From the README._", ""]
        out.append(notes)
    for r in rows:
        if "error" in r:
            continue
        out += ["", f"## `{r['id']}` {{#{_anchor(r['id'])}}}", "", r["summary"], ""]
        out.append(f"- class: `{r['cls']}` (library `{r['upstream']}`)")
        out.append(
            f"- modalities: {r['modalities']}; output space: `{r['output_space']}`; "
            f"stochastic: {'yes' if r['stochastic'] else 'no'}; requires: {r['requires']}"
            + ("; global importances, broadcast to every sample" if r["global_only"] else "")
        )
        out.append("")
        if r["defaults"]:
            up = r["upstream_defaults"]
            head = "| parameter | default |" + (" upstream default |" if up else "")
            out += [head, "|---|---|" + ("---|" if up else "")]
            for k, v in r["defaults"].items():
                cell = f" {_upstream_cell(up[k]) if k in up else '—'} |" if up else ""
                out.append(f"| `{k}` | {_md(v)} |{cell}")
        else:
            out.append("No parameters.")
        out += [
            "",
            f"::: {r['cls']}",
            "    options:",
            "      show_root_heading: false",
            "      show_root_toc_entry: false",
            "      members: false",
            "      show_bases: false",
            "      force_inspection: true",
        ]
    return "\n".join(out) + "\n"


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def metric_rows() -> list[dict[str, Any]]:
    """One row per metric id, read from its class's ``MetricInfo``."""
    from xai_bench import registry

    rows = []
    for mid in registry.list_metrics():
        cls = registry.metric_class(mid)
        info = cls.info
        fn = getattr(cls, "_fn", None)
        fn = getattr(fn, "func", fn)  # a functools.partial of a metric function
        if "<locals>" in getattr(fn, "__qualname__", ""):  # made by a factory: no import path
            fn = None
        lo, hi = info.range
        rows.append(
            {
                "id": mid,
                "cls": f"{cls.__module__}.{cls.__qualname__}",
                "fn": f"{fn.__module__}.{fn.__qualname__}" if hasattr(fn, "__qualname__") else None,
                "direction": "higher" if info.higher_is_better else "lower",
                "range": f"[{_num(lo)}, {_num(hi)}{')' if hi == float('inf') else ']'}",
                "family": getattr(info, "family", None) or "—",
                "modalities": _values(info.modalities),
                "description": info.description,
                "reference": info.reference or "—",
                "formula": getattr(info, "formula", ""),
                "defaults": _defaults(cls),
                "doc": inspect.getdoc(inspect.getmodule(cls)) or "",
            }
        )
    return rows


def _cell(text: str) -> str:
    """Text for a markdown table cell: a bare ``|`` would end the cell."""
    return text.replace("|", "\\|")


def _num(x: float) -> str:
    return {float("inf"): "∞", float("-inf"): "−∞"}.get(x, f"{x:g}")


def metrics_page() -> str:
    rows = metric_rows()
    out = [
        "# Metrics",
        "",
        "_Generated from each metric's `MetricInfo` and signature._ Every metric returns a "
        "`MetricResult` whose `params` record the conventions that produced the number.",
        "",
        "In the formulas, $f$ is the target output in the metric's space (probability by "
        "default), $x$ the input, $\\phi$ its attribution, $\\bar{x}$ the baseline, $G$ the "
        "known evidence (ground truth), and $x^{\\mathrm{MoRF}}_k$ / $x^{\\mathrm{LeRF}}_k$ "
        "the input with the most / least relevant fraction $t_k = k/K$ of its features removed.",
        "",
        "| id | better | range | family | modalities | what it measures |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| [`{r['id']}`](#{_anchor(r['id'])}) | {r['direction']} | {r['range']} | "
            f"{r['family']} | {r['modalities']} | {_cell(r['description'])} |"
        )
    modules_done: set[str] = set()
    for r in rows:
        out += ["", f"## `{r['id']}` {{#{_anchor(r['id'])}}}", "", r["description"], ""]
        out.append(f"- better: **{r['direction']}**; range: {r['range']}; family: {r['family']}")
        out.append(f"- modalities: {r['modalities']}")
        out.append(f"- reference: {r['reference']}")
        out.append(f"- class: `{r['cls']}`")
        out.append("")
        if r["formula"]:
            out += ["$$", r["formula"], "$$", ""]
        if r["defaults"]:
            out += ["| parameter | default |", "|---|---|"]
            out += [f"| `{k}` | {_md(v)} |" for k, v in r["defaults"].items()]
        module = r["cls"].rsplit(".", 1)[0]
        if r["doc"] and module not in modules_done:
            modules_done.add(module)
            out += ["", '??? note "Conventions of `' + module + '`"', ""]
            out += ["    " + line if line else "" for line in r["doc"].splitlines()]
        target = r["fn"] or r["cls"]
        out += [
            "",
            f"::: {target}",
            "    options:",
            "      show_root_heading: true",
            "      heading_level: 3",
            "      members: false",
        ]
    out += ["", "## Reproducing other libraries' numbers", ""]
    out.append(readme_section("Metrics and conventions", start="**Conversions", demote=1))
    return "\n".join(out) + "\n"


def readme_section(
    heading: str, start: str | None = None, end: str | None = None, demote: int = 1
) -> str:
    """The README's ``## heading`` section (without its heading), headings demoted; from
    the text ``start`` up to the text ``end`` when given."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(heading)}\s*$", text, flags=re.M)
    if not m:
        raise KeyError(f"README has no section '## {heading}'")
    body = text[m.end() :]
    nxt = re.search(r"^## ", body, flags=re.M)
    body = body[: nxt.start()] if nxt else body
    if start is not None:
        i = body.find(start)
        if i < 0:
            raise KeyError(f"README section {heading!r} has no {start!r}")
        body = body[i:]
    if end is not None:
        j = body.find(end)
        if j < 0:
            raise KeyError(f"README section {heading!r} has no {end!r}")
        body = body[:j]
    lines, fenced = [], False
    for line in body.strip().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("#"):
            line = "#" * demote + line
        lines.append(line)
    return "\n".join(lines)


def config_schema() -> str:
    """The run config's JSON schema, from the pydantic model."""
    from xai_bench.runner.config import Config

    return json.dumps(Config.model_json_schema(), indent=2, default=str)


def explainers_index(pages: dict[str, str]) -> str:
    """The overview page: every explainer id, with a link to its library's page."""
    rows = explainer_rows()
    out = [
        "# Explainers",
        "",
        "_Generated from the registry_: built-ins, explainers registered in-process and "
        "installed plugins. One page per library:",
        "",
        *[f"- [{lib}](explainers/{lib}.md)" for lib in pages],
        "",
        "| id | library | modalities | output space | stochastic |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        link = f"[`{r['id']}`](explainers/{r['library']}.md#{_anchor(r['id'])})"
        if "error" in r:
            out.append(f"| `{r['id']}` | {r['library']} | unavailable | | |")
        else:
            out.append(
                f"| {link} | {r['library']} | {r['modalities']} | `{r['output_space']}` | "
                f"{'yes' if r['stochastic'] else 'no'} |"
            )
    return "\n".join(out) + "\n"


def tutorial_page(name: str, script: str, stdout: str, seconds: float, report: bool = True) -> str:
    """A tutorial script as a page: its docstring, its code, and the output of this build."""
    import ast

    tree = ast.parse(script)
    doc = ast.get_docstring(tree) or f"# {name}"
    body = script
    if tree.body and isinstance(tree.body[0], ast.Expr) and doc:
        body = "\n".join(script.splitlines()[tree.body[0].end_lineno :]).strip("\n")
    opened = f" Open [the report it wrote](../gallery/{name}.html)." if report else ""
    return "\n".join(
        [
            doc,
            "",
            f"Source: `docs/tutorials/{name}.py`, run as written during this build "
            f"({seconds:.0f} s).{opened}",
            "",
            "```python",
            body,
            "```",
            "",
            "Output of this build:",
            "",
            "```text",
            stdout.rstrip() or "(no output)",
            "```",
            "",
        ]
    )


_DIRECTIVE = re.compile(
    r"^<!-- (readme|config-fields|config-schema|report-screenshot|metric-functions|public-api"
    r"|gallery-examples):?\s*(.*?)\s*-->$",
    re.M,
)


def expand(markdown: str, screenshot: bool = False) -> str:
    """Replace the ``<!-- ... -->`` directives of a hand-written page by generated text.

    ``<!-- readme: Heading | start | end -->`` includes a README section (from ``start``
    up to ``end``, both optional); ``<!-- config-fields -->`` and ``<!-- config-schema -->``
    the run config's fields and JSON schema; ``<!-- gallery-examples -->`` one gallery
    row per example config; ``<!-- report-screenshot -->`` the
    screenshot of the report built during this build, or a link to it.
    """

    def sub(m: re.Match[str]) -> str:
        kind, arg = m.group(1), m.group(2)
        if kind == "readme":
            heading, start, end = ([*map(str.strip, arg.split("|")), None, None])[:3]
            return readme_section(heading, start=start or None, end=end or None)
        if kind == "config-fields":
            return config_fields()
        if kind == "public-api":
            opts = "\n    options:\n      show_root_full_path: false\n      heading_level: 3"
            return "\n\n".join(f"::: {path}{opts}" for path in public_api())
        if kind == "metric-functions":
            opts = "\n    options:\n      heading_level: 3"
            return "\n\n".join(f"::: {path}{opts}" for path in metric_functions())
        if kind == "gallery-examples":
            return gallery_examples()
        if kind == "config-schema":
            return "```json\n" + config_schema() + "\n```"
        if screenshot:
            return (
                "[![The report written by the tabular tutorial](../assets/report.png)]"
                "(../gallery/tabular.html)"
            )
        return "Open [the report written by the tabular tutorial](../gallery/tabular.html)."

    return _DIRECTIVE.sub(sub, markdown)


def example_configs() -> dict[str, Path]:
    """``examples/*.yaml`` by name: each one's quick run goes in the gallery."""
    return {p.stem: p for p in sorted((ROOT / "examples").glob("*.yaml"))}


def example_summary(path: Path) -> str:
    """The opening comment of an example config, up to its run command, as one line."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if text.startswith("xai-bench "):
            break
        lines.append(text)
    return " ".join(lines) or path.stem


def gallery_examples() -> str:
    """Gallery rows for the example configs (generated, so a new config adds its row)."""
    rows = []
    for name, path in example_configs().items():
        cmd = f"xai-bench run examples/{path.name} --quick"
        rows.append(f"| [{example_summary(path)}](gallery/example-{name}.html) | `{cmd}` |")
    return "\n".join(rows)


def config_fields() -> str:
    """A table of the run config's fields: name, type, default, constraints."""
    from xai_bench.runner.config import Config

    out = ["| field | type | default | constraints |", "|---|---|---|---|"]
    for name, field in Config.model_fields.items():
        ann = field.annotation
        ann = ann.__name__ if isinstance(ann, type) else str(ann)
        ann = re.sub(r"[\w.]+\.(\w+)", r"\1", ann).replace("|", "\\|")
        if field.is_required():
            default = "required"
        elif field.default_factory is not None:
            default = _md(field.default_factory())  # type: ignore[call-arg]
        else:
            default = _md(field.default)
        cons = ", ".join(str(c) for c in field.metadata).replace("|", "\\|") or "—"
        out.append(f"| `{name}` | `{ann}` | {default} | {cons} |")
    return "\n".join(out)


def metric_functions() -> list[str]:
    """Dotted paths of the public metric functions (lower-case names in each metric
    module's ``__all__``), one module after the other."""
    import importlib
    import pkgutil

    import xai_bench.metrics as pkg

    paths = []
    for mod in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)):
        if mod.startswith("_") or mod == "perturb":  # perturb: the engine, not metrics
            continue
        module = importlib.import_module(f"xai_bench.metrics.{mod}")
        for name in getattr(module, "__all__", []):
            if name[:1].islower() and callable(getattr(module, name, None)):
                paths.append(f"xai_bench.metrics.{mod}.{name}")
    return paths


def public_api() -> list[str]:
    """Where each name of ``xai_bench.__all__`` is defined, in ``__all__``'s order."""
    import xai_bench

    return [
        _dotted(getattr(xai_bench, name)) for name in xai_bench.__all__ if not name.startswith("_")
    ]
