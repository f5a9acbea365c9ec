"""Operator-edited YAML files validated by pydantic, with errors that name file, line and fix.

One loader for every configuration file (limits, walls, ...): read the file, keep its
node tree for line numbers, validate the data with a pydantic model, and turn the first
validation error into a :class:`settings.ConfigError` such as
``config/walls.yaml:14: walls.overview.pages.0.panels.2.show: unknown panel 'aqi'; ...``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from settings import ConfigError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass(frozen=True)
class YamlFile:
    """A parsed file: its path, its data and its node tree (for line numbers)."""

    path: Path
    data: Any
    root: yaml.Node | None

    def line(self, loc: tuple[Any, ...]) -> int:
        """1-based line of the node at ``loc`` (keys and list indices), or of its nearest parent."""
        return node_line(self.root, loc)[0]

    def error(self, loc: tuple[Any, ...], message: str) -> ConfigError:
        return ConfigError(f"{self.path}:{self.line(loc)}: {message}")


def read_yaml(path: Path, what: str, setting: str) -> YamlFile:
    """Read and parse ``path``; a missing file or bad YAML is a ConfigError naming ``setting``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror}); set {setting} to an existing file") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the indentation or quoting") from None
    return YamlFile(path, {} if data is None else data, root)


def validate(
    file: YamlFile, model: type[M], hint: Callable[[dict[str, Any]], str] | None = None, context: Any = None
) -> M:
    """Validate the file's data with ``model``; the first error names its line, its key path and a fix."""
    if not isinstance(file.data, dict):
        raise ConfigError(f"{file.path}:1: expected a mapping at the top of the file")
    try:
        return model.model_validate(file.data, context=context)
    except ValidationError as exc:
        err = exc.errors()[0]
        line, found = node_line(file.root, tuple(err["loc"]))
        name = ".".join(str(p) for p in found) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing" and err["loc"]:
            message = f"{err['loc'][-1]!r} is missing"
        raise ConfigError(f"{file.path}:{line}: {name}: {message}{(hint or generic_hint)(err)}") from None


def generic_hint(err: dict[str, Any]) -> str:
    """The fix for the errors every file shares: unknown and missing keys."""
    kind = err["type"]
    if kind == "extra_forbidden":
        return "; remove it or check its spelling"
    if kind == "missing":
        return "; add it (see the other entries)"
    return ""


def node_line(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int, list[Any]]:
    """1-based line of the YAML node at ``loc`` (keys and list indices), or of its nearest
    parent, and the part of ``loc`` found in the file (pydantic adds names of union branches)."""
    node, line, found = root, (root.start_mark.line + 1 if root is not None else 1), []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
            if match is None:
                continue  # a union branch name: skip it, keep looking below this node
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            continue
        found.append(part)
    return line, found


def reloading(load: Callable[[Path], T]) -> Callable[[Path], T]:
    """``load`` made cheap enough for every request: the file is parsed again only when it
    changes, so an operator's edit shows without a restart."""
    @lru_cache(maxsize=4)
    def cached(path: str, mtime_ns: int) -> T:
        return load(Path(path))

    def current(path: Path) -> T:
        try:
            mtime = Path(path).stat().st_mtime_ns
        except OSError:
            return load(path)  # raises the ConfigError that says what to fix
        return cached(str(path), mtime)

    return current
