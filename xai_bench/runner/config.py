"""Benchmark configs: YAML read with ``yaml.safe_load``, validated by pydantic (extra="forbid").

Every error names its path (``explainers[1].params``) and what is allowed there.
CLI overrides (``--set key.path=value``, ``--explainers``, ``--limit``, ``--quick``) are
applied to the raw mapping before validation, so they are checked the same way.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InvalidInputError

__all__ = ["Config", "ConfigError", "default_suite", "load_config"]


class ConfigError(InvalidInputError):
    """A config that does not validate; ``errors`` lists ``path: problem`` lines."""

    def __init__(
        self,
        errors: Sequence[str],
        source: str = "config",
        fix: str = "Fix the entries named above; `xai-bench validate FILE` re-checks.",
    ) -> None:
        self.errors = list(errors)
        found = f"{len(self.errors)} problem(s) in {source}:\n  " + "\n  ".join(self.errors)
        super().__init__(found, "a config matching the documented schema", fix)

    def __str__(self) -> str:
        return f"{self.found}\n{self.fix}"


class _Model(BaseModel):
    # strict: `n_samples: true` or `"8"` is not a number (YAML already typed every value)
    model_config = ConfigDict(extra="forbid", strict=True)


# seeds seed numpy generators and are stored as SQLite integers
Seed = Annotated[int, Field(ge=0, lt=2**63)]


class ComponentConfig(_Model):
    """An explainer or metric: registry id, constructor params, optional display label."""

    id: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None


class TaskConfig(_Model):
    """A built-in task ``id``, or a ``loader`` ("package.module:function") returning a Task."""

    id: str | None = None
    loader: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class Config(_Model):
    """A benchmark grid and how to run it."""

    name: str = Field("benchmark", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    tasks: list[TaskConfig] = Field(min_length=1)
    explainers: list[ComponentConfig] = Field(min_length=1)
    metrics: list[ComponentConfig] = Field(min_length=1)
    n_samples: int = Field(64, gt=0)
    seeds: list[Seed] = Field(default_factory=lambda: [0], min_length=1)
    chunk_size: int = Field(16, gt=0)
    timeout: float | None = Field(None, gt=0)
    memory_limit: int | None = None  # bytes; "2GiB", "512MiB", "2GB" are parsed
    backend: Literal["local", "processes", "dask"] = "processes"
    workers: int | None = Field(None, gt=0)
    address: str | None = None
    store: str | None = None
    output: str | None = None
    quick: dict[str, Any] = Field(default_factory=dict)

    @field_validator("memory_limit", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int | None:
        from .memory import parse_size

        try:
            return parse_size(value)
        except InvalidInputError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("store", "output")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        if value is None:
            return value
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError(
                f"{value!r} leaves the working directory; use a relative path without '..'"
                " (or pass -o / --store on the command line)"
            )
        return value

    def benchmark(self, progress: bool | None = None, load_tasks: bool = True) -> Any:
        """The Benchmark this config describes. Task loaders are called here (they are
        the config's code); ``load_tasks=False`` leaves the tasks out, for checking the
        explainers and metrics alone."""
        from .benchmark import Benchmark

        return Benchmark(
            tasks=[_task_ref(t) for t in self.tasks] if load_tasks else [],
            explainers=[c.model_dump() for c in self.explainers],
            metrics=[c.model_dump() for c in self.metrics],
            n_samples=self.n_samples,
            seed=self.seeds,
            timeout=self.timeout,
            chunk_size=self.chunk_size,
            workers=self.workers,
            name=self.name,
            progress=progress,
            memory_limit=self.memory_limit,
        )


def _task_ref(t: TaskConfig) -> Any:
    """A task id, or the Task its loader returns (this runs the loader's code)."""
    if t.id is not None:
        return t.id
    import importlib

    from ..task import Task

    module, _, attr = (t.loader or "").partition(":")
    try:
        loader = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(
            f"task loader {t.loader!r} cannot be imported ({exc})",
            "'package.module:function' importable from the working directory",
            "Check the spelling, or install the package that provides it.",
        ) from None
    task = loader(**t.params)
    if not isinstance(task, Task):
        raise InvalidInputError(
            f"task loader {t.loader!r} returned {type(task).__name__}",
            "a xai_bench.Task",
            "Make the loader return a Task (see xai_bench.Task.from_sklearn / from_torch).",
        )
    return task


# -- loading -------------------------------------------------------------------------
# A config this size is far past any real grid; aliases that expand beyond it are a bomb.
MAX_NODES = 100_000
MAX_DEPTH = 64


def _safe_loader() -> type:
    """``yaml.SafeLoader`` that refuses duplicate keys and configs too large once expanded."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_document(self, node: Any) -> Any:
            sizes: dict[int, int] = {}
            if _expanded(node, sizes, 0) > MAX_NODES:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the config expands to more than {MAX_NODES:,} values (YAML aliases"
                    " that repeat each other)",
                    node.start_mark,
                )
            return super().construct_document(node)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str | int | float | bool) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first on line {seen[key].line + 1})",
                        key_node.start_mark,
                    )
                if isinstance(key, str | int | float | bool):
                    seen[key] = key_node.start_mark
            return super().construct_mapping(node, deep=deep)

    return Loader


def _expanded(node: Any, sizes: dict[int, int], depth: int) -> int:
    """Values in ``node`` with every alias expanded (memoised: an alias is one node)."""
    import yaml

    if id(node) in sizes:
        return sizes[id(node)]
    if depth > MAX_DEPTH:
        raise yaml.constructor.ConstructorError(
            None, None, f"the config is nested more than {MAX_DEPTH} levels deep", node.start_mark
        )
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded(child, sizes, depth + 1) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(
            _expanded(k, sizes, depth + 1) + _expanded(v, sizes, depth + 1) for k, v in node.value
        )
    sizes[id(node)] = min(total, MAX_NODES + 1)
    return sizes[id(node)]


def read_yaml(text: str, source: str) -> Any:
    """Plain YAML only: no tags, no duplicate keys, bounded size and depth."""
    import yaml

    try:
        return yaml.load(text, Loader=_safe_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}" if mark else "?"
        problem = str(exc.problem)
        if "could not determine a constructor" in problem:
            problem += (
                " - only plain YAML is allowed (mappings, lists, strings, numbers);"
                " tags like !!python/object are refused"
            )
        raise ConfigError([f"{where}: {problem}"], source) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"], source) from None
    except RecursionError:
        raise ConfigError(
            [f"nested too deeply to read (at most {MAX_DEPTH} levels are allowed)"], source
        ) from None


def default_suite() -> str:
    """Text of the built-in default suite."""
    return resources.files("xai_bench.runner").joinpath("suites/default.yaml").read_text()


def load_config(
    path: str | Path | None = None,
    *,
    sets: Sequence[str] = (),
    explainers: Sequence[str] | None = None,
    limit: int | None = None,
    quick: bool = False,
    check_ids: bool = True,
) -> Config:
    """Read, override and validate a config; ``path=None`` is the default suite.

    Never imports a task loader: ``loader:`` entries are checked for their form only.
    """
    if path is None:
        text, source = default_suite(), "the default suite"
    else:
        source = str(path)
        try:
            text = Path(path).read_bytes().decode("utf-8")
        except OSError as exc:
            raise ConfigError([f"cannot read {source!r}: {exc.strerror}"], source) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                [f"byte {exc.object[exc.start]:#04x} at offset {exc.start} is not UTF-8 text"],
                source,
                "Save the file as UTF-8.",
            ) from None
    raw = read_yaml(text, source)
    if not isinstance(raw, dict):
        raise ConfigError(
            [
                f"top level: found {type(raw).__name__}, expected a mapping with"
                " keys tasks, explainers, metrics, ..."
            ],
            source,
        )
    raw = normalize(raw)
    origins: dict[str, str] = {}  # config path -> the command-line option that set it
    errors = _check_quick(raw)  # as written, before --quick applies it
    if quick:
        for key, value in (raw.get("quick") or _default_quick(raw)).items():
            set_path(raw, str(key), value, source)
    for item in sets:
        option = f"--set {item}"
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError([f"{item!r}: expected KEY.PATH=VALUE"], option)
        set_path(raw, key.strip(), read_yaml(value, option), option)
        origins[_path([int(p) if p.isdigit() else p for p in key.strip().split(".") if p])] = option
    if explainers:
        by_id = {e.get("id"): e for e in raw.get("explainers", []) if isinstance(e, dict)}
        raw["explainers"] = [by_id.get(e, {"id": e}) for e in explainers]
        origins["explainers"] = f"--explainers {','.join(explainers)}"
    if limit is not None:
        raw["n_samples"] = min(_int_or(raw.get("n_samples"), 64), limit)
        origins["n_samples"] = f"--limit {limit}"
    if any(_within("quick", p) for p in origins):  # --set quick.x=...: check it too
        errors = errors or _check_quick(raw)
    try:
        config = Config.model_validate(normalize(raw))  # again: --set may give short forms
    except ValidationError as exc:
        raise _error([*errors, *(_format(e) for e in exc.errors())], source, origins) from None
    errors += _duplicates(config)
    if check_ids:
        ids = check_registry_ids(config)
        errors += ids or check_params(config)
    if errors:
        raise _error(errors, source, origins)
    return config


def _default_quick(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"n_samples": min(8, _int_or(raw.get("n_samples"), 64))}


def _int_or(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _check_quick(raw: dict[str, Any]) -> list[str]:
    """Problems of ``quick:``, found by validating the config it would produce."""
    overrides = raw.get("quick")
    if overrides is None:
        return []
    if not isinstance(overrides, Mapping):
        return [f"quick: found {type(overrides).__name__}, expected a mapping of key.path: value"]
    trial = copy.deepcopy(raw)
    try:
        for key, value in overrides.items():
            set_path(trial, str(key), value, "quick")
        Config.model_validate(trial)
    except ConfigError as exc:
        return [f"quick: {e}" for e in exc.errors]
    except ValidationError as exc:
        return [f"quick: {_format(e)}" for e in exc.errors()]
    return []


def _duplicates(config: Config) -> list[str]:
    """Entries listed twice: a task, or an explainer or metric with the same params."""
    errors = []
    for field, items in (
        ("tasks", config.tasks),
        ("explainers", config.explainers),
        ("metrics", config.metrics),
    ):
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            key = json.dumps(item.model_dump(), sort_keys=True, default=repr)
            if key in seen:
                errors.append(
                    f"{field}[{i}]: the same as {field}[{seen[key]}]; list each {field[:-1]}"
                    " once (or with different params)"
                )
            seen.setdefault(key, i)
    return errors


def _error(errors: list[str], source: str, origins: Mapping[str, str]) -> ConfigError:
    """A ConfigError naming the command-line option behind each problem it caused."""
    tagged, from_file = [], False
    for line in errors:
        option = next((o for p, o in origins.items() if _within(line.split(":")[0], p)), None)
        from_file |= option is None
        tagged.append(line if option is None else f"{line} (from {option})")
    if not from_file:
        source = "the command-line options"
    return ConfigError(tagged, source)


def _within(a: str, b: str) -> bool:
    """Whether config path ``a`` is ``b``, inside it, or contains it."""
    short, long = sorted((a, b), key=len)
    return long == short or long.startswith((f"{short}.", f"{short}["))


def check_params(config: Config) -> list[str]:
    """Path-named errors for params a class does not take or whose values its constructor
    refuses: every explainer and metric is built once (imports the adapter modules, runs
    nothing)."""
    from ..registry import explainer_class, metric_class

    errors = []
    for field, items, resolve in (
        ("explainers", config.explainers, explainer_class),
        ("metrics", config.metrics, metric_class),
    ):
        for i, item in enumerate(items):
            try:
                cls = resolve(item.id)
            except Exception as exc:  # a missing extra or a broken plugin
                errors.append(f"{field}[{i}].id: {item.id!r} cannot be loaded: {exc}")
                continue
            allowed = _param_names(cls)
            unknown = sorted(set(item.params) - set(allowed or item.params))
            if unknown:
                errors.append(
                    f"{field}[{i}].params: unknown parameter(s) {unknown} for"
                    f" {item.id!r}; allowed: {', '.join(allowed or []) or '(none)'}"
                )
                continue
            try:  # the constructor checks the values, as it would in every job
                cls(**item.params)
            except Exception as exc:
                errors.append(f"{field}[{i}].params: {exc}")
    return errors


def _param_names(cls: Any) -> list[str] | None:
    import inspect

    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.name != "self"]


def normalize(raw: dict[str, Any]) -> dict[str, Any]:
    """Short forms to long forms: ``- shap.kernel`` becomes ``- {id: shap.kernel}``."""
    raw = dict(raw)
    for key in ("tasks", "explainers", "metrics"):
        items = raw.get(key)
        if isinstance(items, list):
            raw[key] = [{"id": x} if isinstance(x, str) else x for x in items]
    if isinstance(raw.get("seeds"), int):
        raw["seeds"] = [raw["seeds"]]
    return raw


def set_path(raw: Any, path: str, value: Any, source: str) -> None:
    """Set ``a.b.0.c`` in nested dicts/lists, creating dicts as needed."""
    parts = [p for p in path.split(".") if p]
    if not parts:
        raise ConfigError([f"--set: empty key in {path!r}"], source)
    node = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not re.fullmatch(r"\d+", part) or int(part) >= len(node):
                raise ConfigError(
                    [f"{path}: {part!r} is not an index of a list of {len(node)} items"], source
                )
            if last:
                node[int(part)] = value
            node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(
                [f"{path}: cannot set {part!r} inside a {type(node).__name__}"], source
            )


def _format(err: Mapping[str, Any]) -> str:
    loc = _path(err.get("loc", ()))
    kind = err.get("type")
    if kind == "extra_forbidden":
        model = _model_at(err.get("loc", ()))
        allowed = ", ".join(model.model_fields) if model else "?"
        return f"{loc}: unknown key; allowed keys here: {allowed}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    found = err.get("input")
    found_s = repr(found) if not isinstance(found, (dict, list)) else type(found).__name__
    return f"{loc}: {err.get('msg')} (found {found_s})"


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "top level"


_FIELD_MODELS: dict[str, type[BaseModel]] = {
    "tasks": TaskConfig,
    "explainers": ComponentConfig,
    "metrics": ComponentConfig,
}


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model that owns the key at ``loc`` (for listing its allowed keys)."""
    parent = [p for p in loc[:-1] if not isinstance(p, int)]
    if not parent:
        return Config
    return _FIELD_MODELS.get(str(parent[0])) if len(parent) == 1 else None


def check_registry_ids(config: Config) -> list[str]:
    """Path-named errors for unknown explainer, metric and task ids (no heavy imports).

    Each unknown id gets its closest matches; the valid ids are listed once per kind.
    """
    from ..errors import did_you_mean
    from ..registry import list_explainers, list_metrics, list_tasks

    errors = []
    tasks = list_tasks()
    for i, t in enumerate(config.tasks):
        if (t.id is None) == (t.loader is None):
            errors.append(f"tasks[{i}]: give exactly one of id or loader")
        elif t.loader is not None and not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", t.loader):
            errors.append(f"tasks[{i}].loader: {t.loader!r}; expected 'package.module:function'")
    for field, ids, known in (
        ("tasks", [t.id for t in config.tasks], tasks),
        ("explainers", [c.id for c in config.explainers], list_explainers()),
        ("metrics", [c.id for c in config.metrics], list_metrics()),
    ):
        valid = f" Valid {field[:-1]} ids: {', '.join(known)}."
        for i, x in enumerate(ids):
            if x is not None and x not in known:
                errors.append(f"{field}[{i}].id: unknown id {x!r}.{did_you_mean(x, known)}{valid}")
                valid = " (valid ids listed above)"
    return errors
