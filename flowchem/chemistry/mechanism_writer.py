"""Write fitted parameter values back into a native mechanism file, keeping
its comments, order and layout (ruamel.yaml round trip): only the numbers
that changed are replaced, each in the unit the file already uses for it
(the unit written next to the number, else the file's ``units:`` block)."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

from ..core.errors import InputError
from ..core.files import write_text_atomic
from ..core.units import (parse_equilibrium_constant, parse_quantity, parse_rate_constant)

__all__ = ["write_fitted_mechanism"]

_NUMBER_UNIT = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*(.*?)\s*$")


def _round_trip(text):
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.version = (1, 2)
    y.preserve_quotes = True
    y.width = 4096
    # keep the file's indentation of block sequences ("  - " under a key, or "- ")
    m = re.search(r"^[^\s#-][^\n]*:\s*\n( *)- ", text, re.M)
    offset = len(m.group(1)) if m else 0
    y.indent(mapping=2, sequence=offset + 2, offset=offset)
    return y


def _format(value):
    return float(f"{value:.6g}")


def _in_file_units(old, si_value, one_si):
    """The new entry: ``si_value`` expressed like ``old`` (a number in the
    block's unit, or a string with its own unit); ``one_si(text_or_number)``
    gives the SI value of one unit of what ``old`` uses."""
    if isinstance(old, str):
        m = _NUMBER_UNIT.match(old)
        unit = m.group(1) if m else ""
        if unit:
            try:
                return f"{_format(si_value / one_si('1 ' + unit)):g} {unit}"
            except InputError:
                # a fitted order changed the rate constant's dimension, so the
                # string's own unit no longer fits: a plain number in the file's units
                pass
        return _format(si_value / one_si(1.0))
    return _format(si_value / one_si(1.0))


def write_fitted_mechanism(source, mechanism, out_path=None):
    """Write ``mechanism`` (the fitted copy of the one read from ``source``)
    into a copy of the file ``source`` at ``out_path``.

    Every rate, equilibrium, enthalpy and order entry whose value differs
    from the file's is rewritten in the file's units; everything else
    (comments, key order, quoting, untouched numbers) stays as it was.
    Returns the text written.
    """
    from .mechanism import Mechanism, R

    src = Path(source)
    text = src.read_text(encoding="utf-8")
    yaml = _round_trip(text)
    doc = yaml.load(text)
    original = Mechanism.from_dict(_plain(doc), source=str(src), base_dir=src.parent)
    if original.n_reactions != mechanism.n_reactions:
        raise InputError("the fitted mechanism does not match the file's reactions", str(src))
    units = original.units or {}
    entries = doc["reactions"]
    for j, (old_r, new_r) in enumerate(zip(original.reactions, mechanism.reactions)):
        entry = entries[j]
        n_fwd = sum(new_r.orders.values())
        n_rev = sum(new_r.products.values())
        order_changed = any(abs(new_r.orders[s] - old_r.orders[s]) > 1e-15 * max(1, abs(old_r.orders[s]))
                            for s in old_r.orders)
        if order_changed:
            orders = entry.get("orders")
            if orders is None:
                from ruamel.yaml.comments import CommentedMap

                orders = CommentedMap()
                entry.insert(len(entry), "orders", orders)
            for s, o in new_r.orders.items():
                if abs(o - old_r.orders[s]) > 1e-15 * max(1, abs(o)) or s in orders:
                    orders[s] = _format(o)
        for key, old_law, new_law, order in (("rate", old_r.rate, new_r.rate, n_fwd),
                                             ("reverse", old_r.reverse, new_r.reverse, n_rev)):
            if old_law is None:
                continue
            spec = entry[key]
            _write_rate(spec, old_law, new_law, order, units, force=order_changed and key == "rate")
        if old_r.equilibrium is not None:
            spec = entry["equilibrium"]
            e_old, e_new = old_r.equilibrium, new_r.equilibrium
            if abs(e_new.lnK_ref - e_old.lnK_ref) > 1e-12 or order_changed:
                spec["K_ref"] = _in_file_units(
                    spec["K_ref"], math.exp(e_new.lnK_ref),
                    lambda v: parse_equilibrium_constant(v, n_rev - n_fwd, units))
            if "dH" in spec and abs(e_new.dH_over_R - e_old.dH_over_R) > 1e-12 * max(1, abs(e_old.dH_over_R)):
                spec["dH"] = _in_file_units(spec["dH"], e_new.dH_over_R * R,
                                            lambda v: parse_quantity(v, "energy", units))
        if new_r.dH is not None and (old_r.dH is None or abs(new_r.dH - old_r.dH) > 1e-9 * max(1, abs(old_r.dH))):
            if "dH" in entry:
                entry["dH"] = _in_file_units(entry["dH"], new_r.dH, lambda v: parse_quantity(v, "energy", units))
            else:
                entry.insert(len(entry), "dH", f"{_format(new_r.dH / 1e3):g} kJ/mol")
    buf = io.StringIO()
    yaml.dump(doc, buf)
    out = buf.getvalue()
    if out.startswith("%YAML"):
        # ruamel writes the version directive it was told to read; the source had none
        if not text.lstrip().startswith("%YAML"):
            out = out.split("---\n", 1)[1] if "---\n" in out else out
    out = _keep_comment_columns(text, out)
    if out_path is not None:
        write_text_atomic(out_path, out)
    return out


def _keep_comment_columns(before, after):
    """Put end-of-line comments back in the column they stood in, where a
    rewritten number moved them (ruamel keeps one space)."""
    old, new = before.splitlines(), after.splitlines()
    if len(old) != len(new):
        return after
    out = []
    for a, b in zip(old, new):
        ia, ib = a.find(" #"), b.find(" #")
        if ia > 0 and ib > 0 and a[ia:].strip() == b[ib:].strip() and ib < ia:
            code = b[:ib].rstrip()
            b = code + " " * max(1, ia + 1 - len(code)) + b[ib + 1:]
        out.append(b)
    return "\n".join(out) + ("\n" if after.endswith("\n") else "")


def _write_rate(spec, old, new, order, units, force=False):
    from .mechanism import R

    def rate_factor(v):
        return parse_rate_constant(v, order, units)

    if new.form == "k":
        if force or abs(new.lnA - old.lnA) > 1e-12:
            spec["k"] = _in_file_units(spec["k"], math.exp(new.lnA), rate_factor)
        return
    if abs(new.Ea_over_R - old.Ea_over_R) > 1e-12 * max(1.0, abs(old.Ea_over_R)) and "Ea" in spec:
        spec["Ea"] = _in_file_units(spec["Ea"], new.Ea_over_R * R,
                                    lambda v: parse_quantity(v, "activation-energy", units))
    elif abs(new.Ea_over_R - old.Ea_over_R) > 1e-12 * max(1.0, abs(old.Ea_over_R)):
        spec.insert(len(spec), "Ea", f"{_format(new.Ea_over_R * R / 1e3):g} kJ/mol")
    if new.form == "k_ref":
        old_k = old.lnA - old.Ea_over_R / old.T_ref
        new_k = new.lnA - new.Ea_over_R / new.T_ref
        if force or abs(new_k - old_k) > 1e-12:
            spec["k_ref"] = _in_file_units(spec["k_ref"], math.exp(new_k), rate_factor)
        return
    if force or abs(new.lnA - old.lnA) > 1e-12:
        spec["A"] = _in_file_units(spec["A"], math.exp(new.lnA), rate_factor)
    if abs(new.b - old.b) > 1e-12:
        if "b" in spec:
            spec["b"] = _format(new.b)
        else:
            spec.insert(len(spec), "b", _format(new.b))


def _plain(node):
    """A ruamel round-trip document as plain dicts and lists (for validation)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if hasattr(node, "__float__") and not isinstance(node, (bool, int, str)):
        return float(node)
    return node
