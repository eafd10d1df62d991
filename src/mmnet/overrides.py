"""Overrides as the library and the command line give them: ``"section.key=value"`` strings (``--set``, sweep
settings), ``(key, value)`` pairs, or a dict ``{key: value}``; one string alone is one override. Parsed here,
applied by :func:`mmnet.config.apply_overrides`."""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from .errors import ConfigError
from .plain_numbers import load_plain

__all__ = ["parse_override", "override_key", "override_list"]


def parse_override(item: str) -> tuple[str, object]:
    """``"section.key=value"`` -> (``"section.key"``, value parsed as YAML with plain-decimal numbers: ``010`` stays
    the text "010", for the config's type check to refuse by key; empty -> None)."""
    if not isinstance(item, str):
        raise ConfigError(f"--set expects section.key=value, got {item!r} ({type(item).__name__}); in Python "
                          "give such strings, (key, value) pairs or a dict {key: value}.")
    if "=" not in item:
        raise ConfigError(f"--set expects section.key=value, got {item!r}")
    key, raw = item.split("=", 1)
    try:
        value = load_plain(raw) if raw != "" else None
    except yaml.YAMLError as exc:
        shown = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")  # as a terminal shows it
        if shown != raw:  # bytes of another encoding: YAML's complaint about U+DCxx would mislead
            raise ConfigError(f"--set {key}: {shown!r} is not valid UTF-8 (another encoding?); rename it") from None
        raise ConfigError(f"--set {key}: cannot parse {raw!r} ({exc})") from None
    return key.strip(), value


def override_key(item: str | tuple[str, object]) -> str:
    """The dotted key an override sets."""
    return item[0].strip() if isinstance(item, tuple) else item.split("=", 1)[0].strip()


def override_list(overrides: str | Mapping[str, object] | list | tuple | None) -> list[str | tuple[str, object]]:
    """The overrides as a list of strings and (key, value) pairs: a string alone is one override (not one per
    character), and so is one (key, value) pair alone (``("data.root", "/x")``); a dict gives one pair per key;
    None is none."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, Mapping):
        return [(str(key), value) for key, value in overrides.items()]
    if _one_pair(overrides):
        return [overrides]
    if isinstance(overrides, (list, tuple)):
        return list(overrides)
    raise TypeError(f"Overrides must be 'section.key=value' strings (a list, or one alone) or a dict "
                      f"{{'section.key': value}}, got a {type(overrides).__name__}: {overrides!r}")


def _one_pair(overrides: object) -> bool:
    """A (key, value) tuple given alone: a key without "=", and a value that is not a "section.key=value" string
    (``("a.b=1", "c.d=2")`` is two overrides)."""
    if not (isinstance(overrides, tuple) and len(overrides) == 2):
        return False
    key, value = overrides
    return isinstance(key, str) and "=" not in key and not (isinstance(value, str) and "=" in value)
