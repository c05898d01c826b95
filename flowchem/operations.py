"""Unit operations other than reactors."""

from __future__ import annotations

from .errors import InputError
from .stream import Stream, mix


class MixerResult:
    """Outlet of a mixer and its JSON entry."""

    kind = "mixer"

    def __init__(self, name, inlets, outlet):
        self.name = name
        self.inlets = inlets
        self.outlet = outlet

    def to_dict(self):
        return {"type": self.kind, "n_inlets": len(self.inlets), "flow_m3_per_s": self.outlet.flow,
                "T_out_K": self.outlet.T}


class Mixer:
    """Ideal T-mixer: volumetric and molar flows add; the outlet temperature
    is flow-weighted (until energy balances replace it with enthalpy)."""

    kind = "mixer"

    def __init__(self, name="mixer"):
        self.name = name

    def run(self, inlets):
        inlets = list(inlets)
        if not inlets:
            raise InputError("a mixer needs at least one inlet", "<python>", self.name)
        for s in inlets:
            if not isinstance(s, Stream):
                raise InputError(f"expected Stream inlets, got {type(s).__name__}", "<python>", self.name)
            if s.mechanism is not inlets[0].mechanism:
                raise InputError("inlets belong to different mechanisms", "<python>", self.name)
        return MixerResult(self.name, inlets, mix(inlets, name=self.name))
