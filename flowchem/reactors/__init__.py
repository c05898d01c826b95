"""Reactors: ideal batch, PFR, CSTR and cascade models with their results
(:mod:`.ideal`), energy balances and runaway screening (:mod:`.energy`),
non-ideal flow (:mod:`.nonideal`), ideal-gas batch and plug flow on
Cantera mechanisms (:mod:`.gas`), tube hydraulics (:mod:`.hydraulics`),
quadrature over solutions (:mod:`.quadrature`) and the bridge to the compiled
kernels (:mod:`.solver`)."""

# The ``type:`` names of flow reactors in route files (and ``kind`` of their results).
FLOW_REACTOR_KINDS = ("pfr", "cstr", "cstr_cascade")
