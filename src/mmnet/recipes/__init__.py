"""Named experiment recipes shipped with mmnet: ``mmnet train --config casme2_5class``.

Each recipe is a YAML file of this package (``<name>.yaml``, installed with the wheel). Its first
comment line is the one-line description that ``mmnet train --list-recipes`` prints; the comment
below it names the paper or protocol it follows. A recipe holds only keys of the configuration
dataclasses (:mod:`mmnet.config`); a test loads and validates every one.

:func:`locate` is the one rule that turns ``--config VALUE`` into a file: an existing file wins,
else a recipe name (with or without ``.yaml``), else an error that lists the recipes.
:func:`locate_sweep` is the same rule for ``mmnet sweep VALUE`` and the sweep files in ``sweeps/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..errors import ConfigError
from ..path_words import path_problem
from ..plain_numbers import PlainNumberLoader

__all__ = ["RECIPE_DIR", "SWEEP_DIR", "recipe_names", "sweep_names", "list_recipes", "recipe_path", "locate",
           "locate_sweep", "describe", "read_yaml"]

#: The folder holding the recipes (a plain folder of the installed package).
RECIPE_DIR = Path(__file__).resolve().parent
#: The shipped sweep files (``mmnet sweep NAME``), installed with the wheel as the recipes are.
SWEEP_DIR = RECIPE_DIR / "sweeps"


def recipe_names() -> list[str]:
    """The shipped recipes' names, sorted."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def sweep_names() -> list[str]:
    """The shipped sweeps' names, sorted."""
    return sorted(p.stem for p in SWEEP_DIR.glob("*.yaml"))


def locate_sweep(ref: str | Path) -> Path:
    """The sweep file that ``ref`` names: an existing file, else a shipped sweep's name (with or without
    ``.yaml``, or the repository's old ``configs/sweeps/NAME.yaml``).

    Raises:
        ConfigError: neither; the message lists the shipped sweeps.
    """
    path = Path(ref)
    if path.is_file():
        return path
    stem = path.name.removesuffix(".yaml")
    if stem in sweep_names():
        return SWEEP_DIR / f"{stem}.yaml"
    if path.is_dir():
        raise ConfigError(f"{path_problem(path, 'Sweep', give='a YAML file or a sweep name')} Shipped sweeps (mmnet "
                          f"sweep NAME): {', '.join(sweep_names())}.")
    raise ConfigError(f"Sweep file '{path}' does not exist, and {str(ref)!r} is not the name of a shipped sweep. "
                      f"Shipped sweeps (mmnet sweep NAME): {', '.join(sweep_names())}.")


def list_recipes() -> dict[str, str]:
    """Recipe name -> its one-line description (the file's first comment line)."""
    out = {}
    for name in recipe_names():
        first = (RECIPE_DIR / f"{name}.yaml").read_text(encoding="utf-8").splitlines()[:1]
        out[name] = first[0].lstrip("#").strip() if first and first[0].startswith("#") else ""
    return out


def recipe_path(name: str) -> Path:
    """The file of recipe ``name``; ConfigError listing the recipes when there is none."""
    stem = name[:-5] if name.endswith(".yaml") else name
    path = RECIPE_DIR / f"{stem}.yaml"
    if "/" in stem or "\\" in stem or not path.is_file():
        raise ConfigError(f"No recipe named {name!r}. {_listing()}")
    return path


def locate(ref: str | Path, *, base_dir: Path | None = None, option: str = "--config") -> Path:
    """The experiment file that ``ref`` names: an existing file (relative to ``base_dir`` when
    given), else a recipe name (``casme2_5class`` or ``casme2_5class.yaml``). ``option`` is how the
    user names a recipe where ``ref`` came from (``base:`` in a sweep file), for the advice.

    Raises:
        ConfigError: neither a file nor a recipe; the message lists the recipes.
    """
    text = str(ref)
    path = Path(text) if base_dir is None else Path(base_dir) / text
    if path.is_file():
        return path
    stem = Path(text).name.removesuffix(".yaml")
    if stem in recipe_names():
        if Path(text).name == text:  # a bare name (or NAME.yaml): the recipe
            return RECIPE_DIR / f"{stem}.yaml"
        raise ConfigError(f"Config file '{path}' does not exist. The recipe of that name ships with mmnet: "
                          f"use {option} {stem}. {_listing()}")
    if path.is_dir():
        raise ConfigError(f"{path_problem(path, 'Config', give='a YAML file or a recipe name')} {_listing()}")
    raise ConfigError(f"Config file '{path}' does not exist, and {text!r} is not a recipe name. {_listing()}")


class _UniqueKeyLoader(PlainNumberLoader):
    """PyYAML keeps the last of two equal keys and drops the first without a word (the YAML spec
    forbids them); a config with ``epochs`` twice is a mistake to name, so this loader refuses them. Numbers are
    plain decimals (``epochs: 010`` is text, refused by key, not the octal 8)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice in this mapping; "
                                                        "keep one", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path, what: str = "Config file") -> object:
    """The parsed content of a user's YAML file; a ConfigError naming the file (and line) when it is not
    UTF-8 text, not valid YAML, or repeats a key."""
    try:
        doc = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} '{path}' is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                          "give a YAML file saved as UTF-8.") from None
    except OSError as exc:
        raise ConfigError(f"{what} '{path}' cannot be read ({exc.strerror}).") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} '{path}' is not valid YAML: {_yaml_problem(exc)}") from None
    for key, value in _strings(doc):
        if any(c < " " and c != "\n" for c in value) or ("\n" in value and _WINDOWS_PATH.match(value)):
            written = value.translate(_ESCAPES)
            raise ConfigError(f"{what} '{path}': {key} reads as {value!r}, which holds a control character: {_ESCAPE} "
                              f"('{written}' in single quotes, or {written.replace(chr(92), '/')!r}).")
    return doc


# a Windows path in double quotes: "D:\data" is refused by PyYAML; "D:\new\tab" silently holds a newline and a tab
_ESCAPE = ('in a double-quoted YAML string "\\" starts an escape ("\\n" is a newline, "\\t" a tab): write a '
           "Windows path in single quotes, or with / in place of \\")
_ESCAPES = str.maketrans({"\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f", "\v": "\\v",
                          "\a": "\\a", "\0": "\\0", "\x1b": "\\e"})
_WINDOWS_PATH = re.compile(r"[A-Za-z]:|\\\\")


def _strings(doc: object) -> list[tuple[str, str]]:
    """(dotted key, text) of each string value in a parsed YAML document. A walk with a stack, each container
    visited once: YAML anchors can make a document hold itself (``a: &x [*x]``) or nest deeper than Python recurses,
    which the config's own checks then refuse."""
    found, stack, seen = [], [("", doc)], set()
    while stack:
        key, node = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                continue
            seen.add(id(node))
            items = (node.items() if isinstance(node, dict) else
                     ((f"[{i}]", v) for i, v in enumerate(node)))
            children = [(f"{key}.{k}" if key and isinstance(node, dict) else f"{key}{k}" if key else str(k), v)
                        for k, v in items]
            stack.extend(reversed(children))
        elif isinstance(node, str):
            found.append((key or "the document", node))
    return found


_HINTS = {"found unknown escape character": _ESCAPE,
          "found character '\\t' that cannot start any token": "indent with spaces: YAML does not allow a tab there"}


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error in one line, by the file's line and column counted from 1 (its own text spans lines and
    names the file '<unicode string>'), with what to do for a Windows path in double quotes and a tab indent."""
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is None or problem is None:
        return " ".join(str(exc).split())
    context = getattr(exc, "context", None)
    hint = next((f"; {h}" for p, h in _HINTS.items() if problem.startswith(p)), "")
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" + (f" ({context})" if context else "") + hint


def describe(ref: str | Path | None) -> str:
    """How a run's card names its configuration: ``recipe NAME``, ``file PATH`` or the defaults."""
    if ref is None:
        return "the built-in defaults (no --config)"
    path = locate(ref)
    if path.resolve().parent == RECIPE_DIR:
        return f"recipe {path.stem} (shipped with mmnet)"
    return f"file {path}"


def _listing() -> str:
    return "Recipes (mmnet train --list-recipes): " + ", ".join(recipe_names()) + "."
