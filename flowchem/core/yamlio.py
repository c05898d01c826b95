"""YAML 1.2 input (ruamel.yaml, safe, pure) and helpers for validating mappings.

Files are read as YAML 1.2, as Cantera reads its own: ``NO``, ``ON``, ``yes`` are
strings and ``2.0e6`` is a float. Missing files and syntax errors become
:class:`~flowchem.errors.InputError` naming the file (and the line, 1-based,
where the parser gives one).
"""

from __future__ import annotations

import copy
import difflib
import os
from collections import OrderedDict
from pathlib import Path

from .errors import InputError, Location

__all__ = ["read_yaml", "load_yaml_text", "Location", "check_mapping", "check_keys", "require_list"]


def _yaml():
    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)
    y.version = (1, 2)
    y.allow_duplicate_keys = False
    return y


def _mark_text(exc) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None and getattr(mark, "line", None) is not None:
        return f"line {mark.line + 1}"
    return ""


# Parsed documents by text: the pure-Python parser costs ~1 ms per hundred
# lines, which dominated sweeps that reload the same mechanism at every point.
# Callers get a deep copy, so nothing they change leaks into the cache.
_PARSED: OrderedDict = OrderedDict()
_PARSED_MAX = 32


def load_yaml_text(text: str, source: str = "<inline>"):
    """Parse YAML 1.2 text; syntax errors become InputError naming ``source``."""
    from ruamel.yaml.error import YAMLError

    cached = _PARSED.get(text)
    if cached is not None:
        _PARSED.move_to_end(text)
        return copy.deepcopy(cached)
    try:
        data = _yaml().load(text)
    except YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        ctx = getattr(exc, "context", None)
        msg = f"invalid YAML: {problem}" + (f" ({ctx})" if ctx and "duplicate" in str(ctx) else "")
        raise InputError(msg, source, _mark_text(exc)) from None
    _PARSED[text] = data
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return copy.deepcopy(data)


def read_yaml(path) -> tuple[object, str]:
    """``(data, source_name)`` of a YAML 1.2 file; ``source_name`` is the path as given."""
    source = os.fspath(path)
    p = Path(source)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", source) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", source) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not a UTF-8 text file ({exc.reason})", source) from None
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", source) from None
    return load_yaml_text(text, source), source


def check_mapping(value, where: Location, what: str = "a mapping") -> dict:
    """``value`` if it is a mapping, else InputError at ``where``."""
    if not isinstance(value, dict):
        raise where.error(f"expected {what}, got {_show(value)}")
    return value


def require_list(value, where: Location, what: str = "a list") -> list:
    if not isinstance(value, list):
        raise where.error(f"expected {what}, got {_show(value)}")
    return value


def check_keys(mapping: dict, allowed, where: Location, required=()) -> None:
    """Refuse unknown keys (suggesting the closest allowed one) and missing required keys."""
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else f" (allowed: {', '.join(map(str, allowed))})"
            raise where.key(key).error(f"unknown key {key!r}{extra}")
    for key in required:
        if key not in mapping:
            raise where.error(f"missing required key {key!r}")


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
