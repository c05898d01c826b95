"""flowchem: kinetic modelling and continuous-flow reactor simulation.

Quick start::

    import flowchem as fc
    mech = fc.load_mechanism("mechanism.yaml")
    feed = fc.Stream(mech, flow="1 mL/min", T="50 degC", conc={"A": "1 mol/L"})
    result = fc.PFR(volume="2 mL").run(feed)
    result.outlet["B"]; result.plot()

    route = fc.load_route("route.yaml")
    route.run().to_dict()
"""

from .errors import FlowchemError, InputError, SolverError
from .mechanism import Mechanism, Reaction, Species, load_mechanism
from . import rtd
from .batchflow import BatchComparison, compare_batch
from .nonideal import DispersionPFR, LaminarPFR
from .operations import HeatExchanger, Mixer, Quench, Separator, Splitter
from .properties import LiquidProperties
from .reactors import CSTR, PFR, BatchReactor, CSTRCascade, EnergyBalance
from .sizing import SizingResult, TargetUnreachableError, size_reactor
from .route import Route, RouteResult, load_route
from .solver import SolverOptions
from .stream import Stream, mix

__version__ = "0.1.0"

__all__ = [
    "FlowchemError", "InputError", "SolverError",
    "Mechanism", "Reaction", "Species", "load_mechanism",
    "Stream", "mix", "Mixer", "Splitter", "Separator", "HeatExchanger", "Quench",
    "BatchReactor", "PFR", "CSTR", "CSTRCascade", "EnergyBalance", "LiquidProperties",
    "DispersionPFR", "LaminarPFR", "rtd",
    "size_reactor", "SizingResult", "TargetUnreachableError", "compare_batch", "BatchComparison",
    "Route", "RouteResult", "load_route",
    "SolverOptions",
]
