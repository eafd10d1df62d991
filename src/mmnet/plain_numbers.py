"""YAML as mmnet reads it: numbers are plain decimals. YAML 1.1 (PyYAML's rules) reads ``010`` as the octal 8,
``1:10`` as 70 (base 60), ``1_000`` as 1000 and ``0x10`` as 16, so that a value typed with a leading zero or a
colon changed without a word; :class:`PlainNumberLoader` reads such text as text, and the config's type check
refuses it by key (:func:`yaml11_number` says what YAML 1.1 would have made of it)."""

from __future__ import annotations

import re

import yaml

__all__ = ["PlainNumberLoader", "load_plain", "yaml11_number", "PLAIN_DECIMAL"]

_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
# YAML 1.1's decimal forms without its underscores and sexagesimal (base 60) forms; an int has no leading zero
_PLAIN_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_PLAIN_FLOAT = re.compile(r"""^(?:[-+]?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?
                    |\.[0-9]+(?:[eE][-+][0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X)
#: Text that is a decimal number as anyone reads it ("1e-3" included; YAML 1.1 keeps that one as text)
PLAIN_DECIMAL = re.compile(r"^[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|0?\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?$")


class PlainNumberLoader(yaml.SafeLoader):
    """A SafeLoader whose ints and floats are plain decimals; YAML 1.1's other number forms stay text."""


PlainNumberLoader.yaml_implicit_resolvers = {
    first: [(tag, {_INT: _PLAIN_INT, _FLOAT: _PLAIN_FLOAT}.get(tag, regexp)) for tag, regexp in resolvers]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_plain(text: str) -> object:
    """``yaml.safe_load`` with plain-decimal numbers (:class:`PlainNumberLoader`)."""
    return yaml.load(text, Loader=PlainNumberLoader)


def yaml11_number(text: str) -> int | float | None:
    """The number YAML 1.1 reads ``text`` as, where it is no plain decimal (``"010"`` -> 8); else None."""
    if not isinstance(text, str) or PLAIN_DECIMAL.match(text.strip()):
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
