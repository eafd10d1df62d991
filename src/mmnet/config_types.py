"""The checks every config section runs when it is built (from a file, ``--set`` or Python): each value against its
field's type, named by key, before the sections check their ranges; and the syntax of a device name."""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import types
import typing

from .errors import ConfigError
from .plain_numbers import PLAIN_DECIMAL, yaml11_number
from .typed_separators import separator_in_name

__all__ = ["check_type", "check_fields", "check_device_name", "check_class_names"]

_LEADING_ZERO = re.compile(r"^[-+]?0[0-9]+$")
_DEVICE = re.compile(r"^(?:auto|cpu|cuda(?::[0-9]+)?)$")
_OTHER_DEVICES = re.compile(r"^(?:mps|xpu|hip|xla|hpu|ipu|mtia|meta|vulkan|lazy)(?::[0-9]+)?$")  # torch's, not mmnet's


def check_class_names(key: str, names: list[str] | None) -> None:
    """Refuse a class name that could not be named again (typed_separators.separator_in_name), named by ``key``."""
    for name in names or ():
        if (why := separator_in_name(name)) is not None:
            raise ConfigError(f"{key}: class {why}")


def check_device_name(name: object, where: str = "train.device") -> None:
    """Refuse what is no device name (auto, cpu, cuda, cuda:N); whether the device exists is checked where it
    is used (:func:`mmnet.runtime.check_device`), as a Ray worker's or SLURM job's is not this machine's."""
    if isinstance(name, str) and _OTHER_DEVICES.match(name):
        raise ConfigError(f"{where}={name}: mmnet runs on cpu or cuda; use auto, cpu, cuda or cuda:N.")
    if not isinstance(name, str) or not _DEVICE.match(name):
        raise ConfigError(f"{where}={name} is not a device; use auto, cpu, cuda or cuda:N.")


def _not_plain(key: str, text: str) -> ConfigError | None:
    """The error for number text that YAML 1.1 reads another way than plain decimal (``010``, ``1:10``)."""
    if _LEADING_ZERO.match(text.strip()):
        plain = str(int(text.strip()))
        return ConfigError(f"{key}={text}: a number with a leading zero is ambiguous (YAML 1.1 reads 010 as the "
                           f"octal 8); write {plain}, not {text.strip()}")
    reading = yaml11_number(text)
    if reading is not None:
        return ConfigError(f"{key}={text} is not a plain decimal number (YAML 1.1 would read it as {reading!r}: "
                           "octal, hexadecimal, base 60 or with underscores); write the decimal number meant, "
                           f"e.g. {reading!r}")
    return None


def check_type(key: str, value, annotation):
    """Coerce/validate one value against its (resolved) dataclass annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for opt in options:
            if opt is type(None):
                continue
            try:
                return check_type(key, value, opt)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is list:
        (item,) = typing.get_args(annotation)
        if not isinstance(value, list):
            value = [value]
        return [check_type(key, v, item) for v in value]
    if annotation in (int, float) and isinstance(value, str) and (error := _not_plain(key, value)):
        raise error
    if annotation is float and isinstance(value, (int, str)) and not isinstance(value, bool):
        if isinstance(value, int) or PLAIN_DECIMAL.match(value.strip()):  # YAML 1.1 reads "1e-3" as a string
            value = float(value)
    if annotation is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value!r}")
    if annotation is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, annotation) or (annotation is int and isinstance(value, bool)):
        raise ConfigError(f"{key} must be of type {annotation.__name__}, got {value!r} ({type(value).__name__})")
    return value


@functools.cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def check_fields(section, prefix: str) -> None:
    """Check (and coerce: an int where a float goes) every field of a config dataclass, named ``prefix.field``:
    a section built in Python is checked as one read from a file."""
    hints = _hints(type(section))
    for f in dataclasses.fields(section):
        setattr(section, f.name, check_type(f"{prefix}.{f.name}", getattr(section, f.name), hints[f.name]))
