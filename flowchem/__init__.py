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

from .core.errors import FlowchemError, InputError, SolverError
from .chemistry.mechanism import Mechanism, Reaction, Species, load_mechanism
from . import rtd
from .process.batchflow import BatchComparison, compare_batch
from .reactors.nonideal import DispersionPFR, LaminarPFR
from .process.operations import HeatExchanger, Mixer, Quench, Separator, Splitter
from .chemistry.properties import LiquidProperties
from .reactors.energy import EnergyBalance
from .reactors.ideal import CSTR, PFR, BatchReactor, CSTRCascade
from .reactors.gas import GasBatchReactor, GasInlet, GasPFR, ignition_delay
from .reactors.gas_sensitivity import ReactionSensitivities, reaction_sensitivities
from .reactors.gas_cstr import GasCSTR
from .process.sizing import SizingResult, TargetUnreachableError, size_reactor
from .process.route import Route, RouteResult, load_route
from .reactors.solver import SolverOptions
from .process.stream import Stream, mix
from .process.experiments import read_experiments
from .process.estimation import compare_models, fit
from .process.experiment_design import suggest_experiments
from .reactors.rate_of_production import rate_of_production
from .process.sensitivity import sensitivity
from .process.study import Study, StudyResult, load_sweep, sweep
from .process.optimize import OptimizationResult, ParetoFront, load_optimize, optimize
from .process.uncertainty import monte_carlo_columns
from .process.dynamic import DynamicResult, load_scenario, simulate_dynamic

__version__ = "0.1.0"

__all__ = [
    "FlowchemError", "InputError", "SolverError",
    "Mechanism", "Reaction", "Species", "load_mechanism",
    "Stream", "mix", "Mixer", "Splitter", "Separator", "HeatExchanger", "Quench",
    "BatchReactor", "PFR", "CSTR", "CSTRCascade", "EnergyBalance", "LiquidProperties",
    "DispersionPFR", "LaminarPFR", "rtd",
    "GasBatchReactor", "GasPFR", "GasInlet", "ignition_delay",
    "reaction_sensitivities", "ReactionSensitivities", "GasCSTR",
    "size_reactor", "SizingResult", "TargetUnreachableError", "compare_batch", "BatchComparison",
    "Route", "RouteResult", "load_route",
    "SolverOptions",
    "fit", "compare_models", "read_experiments", "suggest_experiments", "rate_of_production",
    "sensitivity",
    "sweep", "load_sweep", "Study", "StudyResult",
    "optimize", "load_optimize", "OptimizationResult", "ParetoFront", "monte_carlo_columns",
    "simulate_dynamic", "load_scenario", "DynamicResult",
]
