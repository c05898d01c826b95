"""Exceptions of flowchem and the ``Location`` helper that names an input entry.

Every refusal of bad input is an :class:`InputError` whose one-line message is::

    {source}: {location}: {problem}

for example ``route.yaml: operations[1].volume: expected a volume, got '5 parsecs'``.
Empty parts are left out. Numerical failures are :class:`SolverError`::

    R1: stiff solver failed at t = 3.2 s: step size too small
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FlowchemError", "InputError", "SolverError", "Location"]


class FlowchemError(Exception):
    """Base class of every error flowchem raises on purpose."""


class InputError(FlowchemError, ValueError):
    """Bad input: a file, a mapping or Python arguments that cannot be used.

    Attributes
    ----------
    source : str
        File name as given by the user, or ``"<python>"`` / ``"<inline>"``.
    location : str
        Entry path inside the source, e.g. ``reactions[2].rate.Ea``; may be empty.
    problem : str
        What is wrong, in one line.
    """

    def __init__(self, problem: str, source: str = "", location: str = ""):
        self.source = str(source) if source is not None else ""
        self.location = str(location) if location is not None else ""
        self.problem = " ".join(str(problem).split())  # always a single line
        super().__init__(str(self))

    def __str__(self) -> str:
        return ": ".join(p for p in (self.source, self.location, self.problem) if p)

    def __reduce__(self):
        return (type(self), (self.problem, self.source, self.location))


class SolverError(FlowchemError, RuntimeError):
    """A numerical method failed; ``operation`` names where, ``reason`` says why.

    ``str(e)`` reads e.g. ``R1: stiff solver failed at t = 3.2 s: step size too small``;
    ``operation`` is ``"R1"``, ``reason`` is ``"stiff solver failed at t = 3.2 s: step size too small"``.
    ``t_fail`` is the independent variable where an integrator stopped (time,
    or length for a tube integrated in z), when one did; otherwise None.
    """

    t_fail = None

    def __init__(self, operation: str, reason: str):
        self.operation = str(operation) if operation is not None else ""
        self.reason = " ".join(str(reason).split())
        super().__init__(str(self))

    def __str__(self) -> str:
        return ": ".join(p for p in (self.operation, self.reason) if p)

    def __reduce__(self):
        return (type(self), (self.operation, self.reason))


@dataclass(frozen=True)
class Location:
    """Where an input value sits: a source (file name) and an entry path.

    >>> loc = Location("mech.yaml").key("reactions").item(2).key("rate")
    >>> str(loc)
    'mech.yaml: reactions[2].rate'
    >>> loc.error("missing A").location
    'reactions[2].rate'
    """

    source: str = "<python>"
    path: str = ""

    def key(self, name) -> "Location":
        name = str(name)
        return Location(self.source, f"{self.path}.{name}" if self.path else name)

    def item(self, index: int) -> "Location":
        return Location(self.source, f"{self.path}[{index}]")

    def error(self, problem: str) -> InputError:
        """An :class:`InputError` at this location (to be raised by the caller)."""
        return InputError(problem, self.source, self.path)

    def __str__(self) -> str:
        return ": ".join(p for p in (self.source, self.path) if p)

    @staticmethod
    def coerce(where, source: str | None = None) -> "Location":
        """Accept a Location, an entry-path string or None."""
        if isinstance(where, Location):
            return where if source is None else Location(source, where.path)
        return Location("<python>" if source is None else source, "" if where is None else str(where))
