"""YAML 1.2 input (ruamel.yaml, safe, pure) and helpers for validating mappings.

Files are read as YAML 1.2, as Cantera reads its own: ``NO``, ``ON``, ``yes`` are
strings and ``2.0e6`` is a float. Missing files and syntax errors become
:class:`~flowchem.errors.InputError` naming the file (and the line, 1-based,
where the parser gives one).

A file that is not an input of ours (``/etc/passwd`` given as a mechanism) is
refused by naming the file and what was expected, never by echoing what it
holds: at the top of a document :func:`check_mapping` says what kind of YAML
value it found, :func:`check_keys` lists no key of a mapping none of whose keys
is known, and a duplicate key is reported by its line, not its values.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections import OrderedDict
from pathlib import Path

from .errors import InputError, Location

__all__ = ["read_yaml", "load_yaml_text", "Location", "check_mapping", "check_keys", "require_list",
           "describe_value"]


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
        if "duplicate key" in str(problem):
            # ruamel quotes the key and both values: the line says where, without the contents
            problem = "duplicate key"
        msg = f"invalid YAML: {problem}"
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


def describe_value(value) -> str:
    """What kind of YAML value ``value`` is, without any of its content."""
    if value is None:
        return "an empty document"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "plain text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def check_mapping(value, where: Location, what: str = "a mapping") -> dict:
    """``value`` if it is a mapping, else InputError at ``where``.

    At the top of a document (``where`` without an entry path) the message
    says what kind of value was found, never the value: the file may not be
    an input at all, and its contents are not ours to print.
    """
    if not isinstance(value, dict):
        if not where.path:
            raise where.error(f"expected {what}, got {describe_value(value)} (is this the right file?)")
        raise where.error(f"expected {what}, got {_show(value)}")
    return value


def require_list(value, where: Location, what: str = "a list") -> list:
    if not isinstance(value, list):
        raise where.error(f"expected {what}, got {_show(value)}")
    return value


def check_keys(mapping: dict, allowed, where: Location, required=()) -> None:
    """Refuse unknown keys (suggesting the closest allowed one) and missing required keys.

    At the top of a document, a mapping none of whose keys is allowed is
    refused without naming its keys: it is some other file, not a mistyped one.
    """
    allowed = list(allowed)
    if not where.path and mapping and not any(key in allowed for key in mapping):
        raise where.error(f"none of the top-level keys is one of {', '.join(map(str, allowed))} "
                          "(is this the right file?)")
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
