"""Benchmark configs: YAML read with ``yaml.safe_load``, validated by pydantic (extra="forbid").

Every error names its path (``explainers[1].params``) and what is allowed there.
CLI overrides (``--set key.path=value``, ``--explainers``, ``--limit``, ``--quick``) are
applied to the raw mapping before validation, so they are checked the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InvalidInputError

__all__ = ["Config", "ConfigError", "default_suite", "load_config"]


class ConfigError(InvalidInputError):
    """A config that does not validate; ``errors`` lists ``path: problem`` lines."""

    def __init__(self, errors: Sequence[str], source: str = "config") -> None:
        self.errors = list(errors)
        found = f"{len(self.errors)} problem(s) in {source}:\n  " + "\n  ".join(self.errors)
        super().__init__(
            found,
            "a config matching the documented schema",
            "Fix the entries named above; `xai-bench validate FILE` re-checks.",
        )

    def __str__(self) -> str:
        return f"{self.found}\nFix the entries named above; `xai-bench validate FILE` re-checks."


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
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

    def benchmark(self, progress: bool | None = None) -> Any:
        """The Benchmark this config describes (tasks are loaded when it runs)."""
        from .benchmark import Benchmark

        return Benchmark(
            tasks=[_task_ref(t) for t in self.tasks],
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
    if t.id is not None:
        return t.id
    import importlib

    module, _, attr = (t.loader or "").partition(":")
    return getattr(importlib.import_module(module), attr)(**t.params)


# -- loading -------------------------------------------------------------------------
def read_yaml(text: str, source: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}" if mark else "?"
        raise ConfigError(
            [
                f"{where}: {exc.problem} - only plain YAML is allowed (mappings,"
                " lists, strings, numbers); tags like !!python/object are refused"
            ],
            source,
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"], source) from exc


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
    """Read, override and validate a config; ``path=None`` is the default suite."""
    if path is None:
        text, source = default_suite(), "the default suite"
    else:
        try:
            text, source = Path(path).read_text(), str(path)
        except OSError as exc:
            raise ConfigError([f"cannot read {str(path)!r}: {exc.strerror}"], str(path)) from exc
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
    if quick:
        overrides = raw.get("quick") or {"n_samples": min(8, int(raw.get("n_samples", 64)))}
        if not isinstance(overrides, Mapping):
            raise ConfigError(["quick: expected a mapping of key.path: value"], source)
        for key, value in overrides.items():
            set_path(raw, str(key), value, source)
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError([f"--set {item!r}: expected key.path=value"], source)
        import yaml

        set_path(raw, key.strip(), yaml.safe_load(value), source)
    if explainers:
        by_id = {e.get("id"): e for e in raw.get("explainers", []) if isinstance(e, dict)}
        raw["explainers"] = [by_id.get(e, {"id": e}) for e in explainers]
    if limit is not None:
        raw["n_samples"] = min(int(raw.get("n_samples", 64)), limit)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([_format(e) for e in exc.errors()], source) from None
    if check_ids:
        errors = check_registry_ids(config)
        if not errors:
            errors = check_params(config)
        if errors:
            raise ConfigError(errors, source)
    return config


def check_params(config: Config) -> list[str]:
    """Path-named errors for params a class does not take (imports the adapter modules)."""
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
            if allowed is None:  # takes **kwargs: the constructor checks
                continue
            unknown = sorted(set(item.params) - set(allowed))
            if unknown:
                errors.append(
                    f"{field}[{i}].params: unknown parameter(s) {unknown} for"
                    f" {item.id!r}; allowed: {', '.join(allowed) or '(none)'}"
                )
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
    """Path-named errors for unknown explainer, metric and task ids (no heavy imports)."""
    from ..registry import list_explainers, list_metrics, list_tasks

    errors = []
    tasks = list_tasks()
    for i, t in enumerate(config.tasks):
        if (t.id is None) == (t.loader is None):
            errors.append(f"tasks[{i}]: give exactly one of id or loader")
        elif t.loader is not None and not re.fullmatch(r"[\w.]+:\w+", t.loader):
            errors.append(f"tasks[{i}].loader: {t.loader!r}; expected 'package.module:function'")
        elif t.id is not None and t.id not in tasks:
            errors.append(f"tasks[{i}].id: unknown id {t.id!r}; allowed: {', '.join(tasks)}")
    for field, items, known in (
        ("explainers", config.explainers, list_explainers()),
        ("metrics", config.metrics, list_metrics()),
    ):
        for i, item in enumerate(items):
            if item.id not in known:
                errors.append(
                    f"{field}[{i}].id: unknown id {item.id!r}; allowed: {', '.join(known)}"
                )
    return errors
