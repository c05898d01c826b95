"""Number formatting shared by the terminal tables, the figures and the HTML report."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["significant", "table_cell"]

MISSING = "–"


def significant(x, n=4, *, trailing_zeros=True, missing=MISSING):
    """``x`` to ``n`` significant figures: plain notation from 1e-3 up to 10**n,
    scientific outside. ``trailing_zeros`` keeps '1.000' (a measured-looking
    value); without it '1'. None (not computed) shows as ``missing``, booleans
    as yes/no, and inf/NaN as themselves."""
    if x is None:
        return missing
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 10 ** n:
        s = f"{x:#.{n}g}"
        if not trailing_zeros and "." in s:
            return s.rstrip("0").rstrip(".")
        return s[:-1] if s.endswith(".") else s
    s = f"{x:.{n - 1}e}"
    if not trailing_zeros:
        mantissa, _, exponent = s.partition("e")
        s = (mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa) + "e" + exponent
    return s


def table_cell(x, width=11):
    """A right-aligned fixed-width cell for the terminal stream table: four
    decimals below 100, two up to 1e5, scientific outside 1e-3..1e5."""
    if x is None:
        return "-".rjust(width)
    if x == 0:
        return "0".rjust(width)
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.4f}".rjust(width) if abs(x) < 100 else f"{x:.2f}".rjust(width)
    return f"{x:.3e}".rjust(width)
