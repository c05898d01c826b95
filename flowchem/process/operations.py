"""Unit operations other than reactors: mixer, splitter, liquid-liquid
separator, heat exchanger and quench.

Every operation has ``run(inlets)`` taking a list of :class:`Stream` (or
one stream) and
returning a result with ``outlets`` (outlet name -> Stream; ``""`` for the
single outlet of a one-outlet operation, so a route names it ``OP``, and
``OP.NAME`` otherwise) and ``to_dict()`` (its JSON entry).
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InputError, Location
from .stream import Stream, mix
from ..core.units import parse_quantity


class OperationResult:
    """Inlets, outlets and the JSON entry of a unit operation."""

    def __init__(self, kind, name, inlets, outlets, info=None):
        self.kind = kind
        self.name = name
        self.inlets = inlets
        self.outlets = outlets
        self.info = info or {}
        self.warnings = []

    @property
    def outlet(self):
        """The outlet of a one-outlet operation."""
        if "" not in self.outlets:
            raise AttributeError(f"{self.name} has several outlets: {', '.join(self.outlets)}")
        return self.outlets[""]

    def to_dict(self):
        d = {"type": self.kind, "n_inlets": len(self.inlets)}
        if "" in self.outlets:
            d["flow_m3_per_s"] = self.outlet.flow
            d["T_out_K"] = self.outlet.T
        else:
            d["outlets"] = {k: f"{self.name}.{k}" for k in self.outlets}
        d.update(self.info)
        if self.warnings:
            d["warnings"] = list(self.warnings)
        return d


# The name the mixer's result had before the other operations existed.
MixerResult = OperationResult


def _check_inlets(name, inlets, source, where):
    inlets = [inlets] if isinstance(inlets, Stream) else list(inlets)
    if not inlets:
        raise InputError("needs at least one inlet", source, where or name)
    for s in inlets:
        if not isinstance(s, Stream):
            raise InputError(f"expected Stream inlets, got {type(s).__name__}", source, where or name)
        if s.mechanism is not inlets[0].mechanism:
            raise InputError("inlets belong to different mechanisms", source, where or name)
    return inlets


class _Operation:
    kind = "operation"
    multiple_inlets = False
    outlet_names = ("",)

    def __init__(self, name=None, *, source="<python>", where=None):
        self.name = name or self.kind
        self.source = source
        self.where = where or self.name

    def _loc(self, key=None):
        loc = Location(self.source, self.where)
        return loc.key(key) if key else loc


class Mixer(_Operation):
    """Ideal T-mixer: volumetric and molar flows add; the outlet temperature
    follows from the enthalpy balance (see :func:`flowchem.stream.mix`)."""

    kind = "mixer"
    multiple_inlets = True

    def run(self, inlets):
        inlets = _check_inlets(self.name, inlets, self.source, self.where)
        return OperationResult(self.kind, self.name, inlets, {"": mix(inlets, name=self.name)})


class Splitter(_Operation):
    """Divides one stream into outlets of the same composition.

    ``fractions``: a list (outlets named ``1``, ``2``, ...) or a mapping of
    outlet name to fraction of the flow; fractions are positive and sum to 1.
    """

    kind = "splitter"

    def __init__(self, fractions, name=None, *, source="<python>", where=None):
        super().__init__(name, source=source, where=where)
        loc = self._loc("fractions")
        if isinstance(fractions, (list, tuple)):
            fractions = {str(i + 1): f for i, f in enumerate(fractions)}
        if not isinstance(fractions, dict) or len(fractions) < 2:
            raise loc.error("expected a list or mapping of at least two fractions")
        clean = {}
        for key, value in fractions.items():
            if not isinstance(key, (str, int)) or not str(key).strip():
                raise loc.error(f"bad outlet name {key!r}")
            clean[str(key)] = parse_quantity(value, "dimensionless", where=loc.key(str(key)),
                                             source=source, positive=True)
        total = sum(clean.values())
        if abs(total - 1.0) > 1e-9:
            raise loc.error(f"fractions must add up to 1, they add up to {total:.12g}")
        self.fractions = clean
        self.outlet_names = tuple(clean)

    def run(self, inlets):
        (feed,) = _check_inlets(self.name, inlets, self.source, self.where)
        outlets = {}
        for key, f in self.fractions.items():
            s = feed.copy(name=f"{self.name}.{key}")
            s.flow = feed.flow * f
            outlets[key] = s
        return OperationResult(self.kind, self.name, [feed], outlets,
                               {"fractions": dict(self.fractions)})


class HeatExchanger(_Operation):
    """Brings a stream to temperature ``T``; reports the duty (W, positive
    for heating) from the liquid's heat capacity. No reaction inside."""

    kind = "heat_exchanger"

    def __init__(self, T, name=None, *, units=None, source="<python>", where=None):
        super().__init__(name, source=source, where=where)
        self.T = parse_quantity(T, "temperature", units, self._loc("T"), source=source, positive=True)

    def run(self, inlets):
        from ..chemistry.properties import LiquidProperties

        (feed,) = _check_inlets(self.name, inlets, self.source, self.where)
        props = feed.properties or LiquidProperties.default()
        out = feed.copy(name=self.name)
        out.T = self.T
        duty = props.density * props.cp * feed.flow * (self.T - feed.T)
        return OperationResult(self.kind, self.name, [feed], {"": out},
                               {"T_in_K": feed.T, "duty_W": duty})


class Separator(_Operation):
    """Liquid-liquid extraction in one equilibrium stage, with two outlets,
    ``organic`` and ``aqueous``.

    The inlets are mixed; the aqueous phase flow is that of the inlets named
    in ``aqueous`` (e.g. the wash water), or set by ``phase_ratio`` (organic
    to aqueous volume). Each species splits by a partition coefficient
    K = c_org/c_aq (``partition``), giving the fraction K r/(1 + K r) to the
    organic phase with r the organic to aqueous volume ratio, or by a fixed
    fraction to the organic phase (``split``). Species named in neither go
    to the ``default`` phase (``organic`` unless set). Phases keep the
    liquid properties of the mixed feed.
    """

    kind = "separator"
    multiple_inlets = True
    outlet_names = ("organic", "aqueous")

    def __init__(self, mechanism, name=None, *, partition=None, split=None, aqueous=None,
                 phase_ratio=None, default="organic", units=None, source="<python>", where=None):
        super().__init__(name, source=source, where=where)
        names = mechanism.species_names
        self.fraction_organic = np.full(len(names), np.nan)
        self.partition = np.full(len(names), np.nan)
        for key, table in (("partition", partition), ("split", split)):
            if table is None:
                continue
            if not isinstance(table, dict):
                raise self._loc(key).error("expected a mapping of species to values")
            for sp, value in table.items():
                loc = self._loc(key).key(sp)
                if sp not in names:
                    raise loc.error(f"unknown species {sp!r}")
                i = names.index(sp)
                if not np.isnan(self.partition[i]) or not np.isnan(self.fraction_organic[i]):
                    raise loc.error(f"{sp} is given both a partition coefficient and a split")
                v = parse_quantity(value, "dimensionless", where=loc, source=source, nonnegative=True)
                if key == "partition":
                    self.partition[i] = v
                else:
                    if v > 1.0:
                        raise loc.error(f"a split fraction lies between 0 and 1, got {v}")
                    self.fraction_organic[i] = v
        if default not in ("organic", "aqueous"):
            raise self._loc("default").error(f"expected organic or aqueous, got {default!r}")
        self.default = default
        if (aqueous is None) == (phase_ratio is None):
            raise self._loc().error("give 'aqueous' (the inlets that form the aqueous phase) "
                                    "or 'phase_ratio' (organic to aqueous volume), not both or neither")
        if aqueous is not None:
            aqueous = [aqueous] if isinstance(aqueous, str) else aqueous
            if not isinstance(aqueous, list) or not all(isinstance(a, str) for a in aqueous):
                raise self._loc("aqueous").error("expected an inlet name or a list of them")
        self.aqueous = aqueous
        self.phase_ratio = None if phase_ratio is None else parse_quantity(
            phase_ratio, "dimensionless", where=self._loc("phase_ratio"), source=source, positive=True)
        self.inlet_names = None   # set by the route (names of the inlet streams)

    def run(self, inlets):
        inlets = _check_inlets(self.name, inlets, self.source, self.where)
        mixed = mix(inlets, name=self.name)
        Q = mixed.flow
        if self.aqueous is not None:
            names = self.inlet_names or [s.name for s in inlets]
            unknown = [a for a in self.aqueous if a not in names]
            if unknown:
                raise self._loc("aqueous").error(f"{unknown[0]!r} is not an inlet of {self.name}")
            Q_aq = sum(s.flow for s, n in zip(inlets, names) if n in self.aqueous)
            Q_org = Q - Q_aq
            if Q_org <= 0 or Q_aq <= 0:
                raise self._loc("aqueous").error("both phases need a flow")
        else:
            Q_org = Q * self.phase_ratio / (1.0 + self.phase_ratio)
            Q_aq = Q - Q_org
        r = Q_org / Q_aq
        f = np.where(np.isnan(self.fraction_organic),
                     np.where(np.isnan(self.partition), 1.0 if self.default == "organic" else 0.0,
                              self.partition * r / (1.0 + self.partition * r)),
                     self.fraction_organic)
        F = mixed.molar_flows
        org = Stream.from_si(mixed.mechanism, Q_org, mixed.T, F * f / Q_org, mixed.P,
                             f"{self.name}.organic", mixed.properties)
        aq = Stream.from_si(mixed.mechanism, Q_aq, mixed.T, F * (1.0 - f) / Q_aq, mixed.P,
                            f"{self.name}.aqueous", mixed.properties)
        names = mixed.mechanism.species_names
        info = {"phase_ratio_org_to_aq": r,
                "fraction_to_organic": {n: float(x) for n, x, c in zip(names, f, F) if c > 0}}
        return OperationResult(self.kind, self.name, inlets, {"organic": org, "aqueous": aq}, info)


class Quench(_Operation):
    """Mixes a quench stream in and lets the fast quench reactions run to
    completion: an isothermal hold of ``time`` (default 60 s) at ``T`` (the
    mixed temperature unless given), integrated with the stiff solver."""

    kind = "quench"
    multiple_inlets = True

    def __init__(self, name=None, *, time=None, T=None, options=None, units=None,
                 source="<python>", where=None):
        super().__init__(name, source=source, where=where)
        self.time = 60.0 if time is None else parse_quantity(time, "time", units, self._loc("time"),
                                                             source=source, positive=True)
        self.T = None if T is None else parse_quantity(T, "temperature", units, self._loc("T"),
                                                       source=source, positive=True)
        self.options = options

    def run(self, inlets):
        from ..reactors.ideal import PFR

        inlets = _check_inlets(self.name, inlets, self.source, self.where)
        mixed = mix(inlets, name=self.name)
        hold = PFR(self.time * mixed.flow, T=self.T, name=self.name, options=self.options,
                   source=self.source, where=self.where).run(mixed)
        out = hold.outlet
        out.name = self.name
        res = OperationResult(self.kind, self.name, inlets, {"": out},
                              {"hold_time_s": self.time, "volume_m3": hold.volume,
                               "heat_released_W": hold.thermal.get("heat_released_W", 0.0),
                               "solver": dict(hold.stats)})
        res.hold = hold
        return res
