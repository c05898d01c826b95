"""Routes: feeds and unit operations read from a route file, solved in
dependency order; the product KPIs and balance closure of a run come from
:mod:`flowchem.process.kpis`.

See DESIGN.md for the file format. Everything is validated when the route is
loaded, before any numerics run, so a bad file fails fast and writes nothing.
A route on a gas mechanism with gas feeds (DESIGN.md, "Gas feeds") reads its
feeds and builds its operations through :mod:`flowchem.process.gas_route`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..core.errors import InputError, Location
from ..core.files import write_text_atomic
from ..chemistry.mechanism import Mechanism
from .operations import HeatExchanger, Mixer, Quench, Separator, Splitter
from ..chemistry.properties import LiquidProperties
from ..reactors.ideal import CSTR, PFR, CSTRCascade
from ..reactors.solver import SolverOptions
from .flowsheet import Flowsheet
from .gas_route import build_gas_operation, gas_feed, gas_operation_keys, is_gas_route
from .kpis import balance_closure, product_factor, product_kpis
from .stream import Stream
from ..core.units import parse_quantity, parse_units_block
from ..core.yamlio import check_keys, check_mapping, read_yaml

ROUTE_KEYS = ("name", "description", "mechanism", "units", "properties", "feeds", "operations",
              "product", "solver", "hazardous", "reference")
# Published figures a route can be compared with: key -> (unit kind, KPI key, factor to KPI units)
REFERENCE_KEYS = {
    "yield": ("dimensionless", "yield", 1.0),
    "conversion": ("dimensionless", "conversion", 1.0),
    "selectivity": ("dimensionless", "selectivity", 1.0),
    "production_rate": ("mass_flow", "production_rate_kg_per_h", 3600.0),
    "residence_time": ("time", "residence_time_s", 1.0),
    "total_residence_time": ("time", "residence_time_s", 1.0),
    "space_time_yield": ("dimensionless", "space_time_yield_kg_per_m3_h", 1.0),
}
FEED_KEYS = ("name", "flow", "T", "P", "conc", "properties", "solvent")
SOLVENT_KEYS = ("name", "density")
COMMON_OP_KEYS = ("name", "type", "from")
REACTOR_KEYS = ("T", "energy", "properties")
OPERATION_KEYS = {
    "mixer": (),
    "pfr": ("volume", "length", "diameter", "coil_diameter", "flow_model", "Pe", "D", "diffusivity",
            "n_cells") + REACTOR_KEYS,
    "cstr": ("volume",) + REACTOR_KEYS,
    "cstr_cascade": ("n", "volume") + REACTOR_KEYS,
    "splitter": ("fractions",),
    "separator": ("partition", "split", "aqueous", "phase_ratio", "default"),
    "heat_exchanger": ("T",),
    "quench": ("time", "T"),
}
MULTI_INLET_TYPES = ("mixer", "separator", "quench")
PRODUCT_KEYS = ("from", "species", "basis", "impurities")
SOLVER_KEYS = ("rtol", "atol", "method", "max_steps")


def _check_keys(mapping, allowed, where: Location, what):
    check_mapping(mapping, where, f"a mapping for {what}")
    check_keys(mapping, allowed, where)


def _name(value, where: Location):
    if not isinstance(value, str) or not value.strip():
        raise where.error(f"expected a non-empty name, got {value!r}")
    return value


class Route:
    """A validated route: mechanism, feeds, operations, product and solver options.

    Build with :func:`load_route` or :meth:`Route.from_dict`; run with
    :meth:`run`, which returns a :class:`RouteResult`.
    """

    def __init__(self, name, mechanism, feeds, operations, links, product=None, options=None,
                 source="<python>", hazardous=()):
        self.name = name
        self.mechanism = mechanism
        self.feeds = feeds              # name -> Stream
        self.operations = operations    # name -> reactor or unit operation, in file order
        self.links = links              # op name -> list of inlet stream names
        self.product = product
        self.options = options or SolverOptions()
        self.source = source
        self.hazardous = list(hazardous)
        self.reference = None
        self.graph = Flowsheet(feeds, {name: tuple(getattr(op, "outlet_names", ("",)))
                                       for name, op in operations.items()}, links, source)
        self.producer = self.graph.producer   # stream name -> op name (or feed)
        self.order = self.graph.order

    # -- loading --------------------------------------------------------
    @classmethod
    def from_dict(cls, data, source="<inline>", base_dir=None):
        root = Location(source)
        _check_keys(data, ROUTE_KEYS, root, "a route")
        base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        units = parse_units_block(data["units"], source, root.key("units")) if "units" in data else None
        name = data.get("name", Path(source).stem if source not in ("<inline>", "<python>") else "route")
        if not isinstance(name, str):
            raise root.key("name").error(f"expected a string, got {name!r}")

        if "mechanism" not in data:
            raise root.error("missing 'mechanism' (a file name, an inline mapping or {cantera: FILE})")
        mechanism = _load_route_mechanism(data["mechanism"], root.key("mechanism"), base_dir,
                                          data.get("units"))

        options = _solver_options(data.get("solver"), root.key("solver"), source)
        liquid = LiquidProperties.from_mapping(data.get("properties"), units, source,
                                               root.key("properties"))

        feeds_data = data.get("feeds")
        if not isinstance(feeds_data, list) or not feeds_data:
            raise root.key("feeds").error("expected a non-empty list of feeds")
        gas = is_gas_route(mechanism, feeds_data, root)   # gas feeds, gas streams, gas operations
        feeds = {}
        for i, fd in enumerate(feeds_data):
            where = root.key("feeds").item(i)
            if gas:
                stream = gas_feed(fd, mechanism, units, where)
                fname = _name(fd["name"], where.key("name"))
                if fname in feeds:
                    raise where.key("name").error(f"duplicate name {fname!r}")
                feeds[fname] = stream
                continue
            _check_keys(fd, FEED_KEYS, where, "a feed")
            for key in ("name", "flow", "T"):
                if key not in fd:
                    raise where.error(f"missing '{key}'")
            fname = _name(fd["name"], where.key("name"))
            if fname in feeds:
                raise where.key("name").error(f"duplicate name {fname!r}")
            feeds[fname] = Stream(mechanism, fd["flow"], fd["T"], fd.get("conc", {}),
                                  fd.get("P", 101325.0), name=fname, units=units, source=source,
                                  where=where.path,
                                  properties=liquid.merged(fd.get("properties"), units, source,
                                                           where.key("properties")))
            feeds[fname].solvent = _solvent(fd.get("solvent"), feeds[fname], where.key("solvent"),
                                            fd.get("properties"))

        ops_data = data.get("operations")
        if not isinstance(ops_data, list) or not ops_data:
            raise root.key("operations").error("expected a non-empty list of operations")
        operations, links = {}, {}
        for i, od in enumerate(ops_data):
            where = root.key("operations").item(i)
            if not isinstance(od, dict):
                raise where.error(f"expected a mapping, got {type(od).__name__}")
            for key in ("name", "type", "from"):
                if key not in od:
                    raise where.error(f"missing '{key}'")
            otype = od["type"]
            if otype not in OPERATION_KEYS:
                raise where.key("type").error(
                    f"unknown operation type {otype!r} (known: {', '.join(OPERATION_KEYS)})")
            allowed = gas_operation_keys(otype, where) if gas else OPERATION_KEYS[otype]
            _check_keys(od, COMMON_OP_KEYS + allowed, where, f"a {otype}")
            oname = _name(od["name"], where.key("name"))
            if oname in operations or oname in feeds:
                raise where.key("name").error(f"duplicate name {oname!r}")
            inlets = od["from"]
            if otype in MULTI_INLET_TYPES:
                inlets = [inlets] if isinstance(inlets, str) else inlets
                if not isinstance(inlets, list) or not inlets:
                    raise where.key("from").error(f"a {otype} takes a non-empty list of inlets")
            else:
                if isinstance(inlets, list):
                    raise where.key("from").error(
                        f"a {otype} takes one inlet; put a mixer in front to combine {inlets}")
                inlets = [inlets]
            for j, inlet in enumerate(inlets):
                _name(inlet, where.key("from"))
            links[oname] = list(inlets)
            if gas:
                operations[oname] = build_gas_operation(otype, oname, od, units, source, where,
                                                        data.get("solver"))
            else:
                operations[oname] = _build_operation(otype, oname, od, units, source, where,
                                                     options, liquid, mechanism)
            if otype == "separator":
                operations[oname].inlet_names = list(inlets)

        hazardous = data.get("hazardous", [])
        if not isinstance(hazardous, list) or not all(isinstance(h, str) for h in hazardous):
            raise root.key("hazardous").error("expected a list of species names")
        for i, h in enumerate(hazardous):
            if h not in mechanism.species_names:
                raise root.key("hazardous").item(i).error(f"unknown species {h!r}")
        route = cls(name, mechanism, feeds, operations, links, None, options, source, hazardous)
        if "product" in data:
            route.product = _product_spec(data["product"], root.key("product"), route)
        route.reference = _reference(data.get("reference"), root.key("reference"), units)
        if route.reference and route.product is None:
            raise root.key("reference").error("a reference is compared with the product KPIs: "
                                              "give a 'product'")
        return route

    # -- running --------------------------------------------------------
    def _run_operation(self, name, streams):
        op = self.operations[name]
        inlets = [streams[n] for n in self.links[name]]
        res = op.run(inlets) if getattr(op, "multiple_inlets", False) else op.run(inlets[0])
        for outlet, stream in res.outlets.items():
            stream.name = name if outlet == "" else f"{name}.{outlet}"
            streams[stream.name] = stream
        return res

    def run(self, progress=None):
        """Solve every operation in dependency order; returns a :class:`RouteResult`.

        ``progress``, if given, is called as ``progress(i, n, name)`` before
        each operation.
        """
        streams = dict(self.feeds)
        results = {}
        t0 = time.perf_counter()
        for i, name in enumerate(self.order):
            if progress is not None:
                progress(i, len(self.order), name)
            results[name] = self._run_operation(name, streams)
        elapsed = time.perf_counter() - t0
        return RouteResult(self, streams, results, elapsed)

    def inlet_streams(self, name):
        """Run the operations upstream of ``name`` and return its inlet streams."""
        if name not in self.operations:
            raise InputError(f"unknown operation {name!r} (operations: {', '.join(self.operations)})",
                             self.source, "operations")
        needed = self.upstream(name) - {name}
        streams = dict(self.feeds)
        for op_name in self.order:
            if op_name in needed:
                self._run_operation(op_name, streams)
        return [streams[n] for n in self.links[name]]

    def upstream(self, name):
        """Names of every feed and operation upstream of ``name`` (inclusive);
        ``name`` may be a stream such as ``S1.organic``."""
        return self.graph.upstream(name)


def _reference(spec, where: Location, units):
    """Published figures to compare the product KPIs with (SI, KPI units)."""
    if spec is None:
        return None
    _check_keys(spec, ("source",) + tuple(REFERENCE_KEYS), where, "a reference")
    ref = {"source": str(spec.get("source", "")), "values": {}}
    for key, value in spec.items():
        if key == "source":
            continue
        kind, kpi, factor = REFERENCE_KEYS[key]
        ref["values"][key] = (kpi, parse_quantity(value, kind, units, where.key(key),
                                                  nonnegative=True) * factor)
    return ref


def _solvent(spec, feed, where: Location, feed_properties):
    """A feed's solvent: {name, density} (density defaults to the feed's
    liquid density when the feed's properties give one); None if not named."""
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = {"name": spec}
    _check_keys(spec, SOLVENT_KEYS, where, "a solvent")
    if "name" not in spec or not isinstance(spec["name"], str):
        raise where.error("a solvent needs a 'name'")
    if "density" in spec:
        density = parse_quantity(spec["density"], "density", None, where.key("density"), positive=True)
    elif isinstance(feed_properties, dict) and "density" in feed_properties:
        density = feed.properties.density
    else:
        raise where.error("give the solvent's density (solvent: {name: ..., density: ...}) for PMI")
    return {"name": spec["name"], "density": density}


def _load_route_mechanism(spec, where: Location, base_dir: Path, route_units):
    if isinstance(spec, Mechanism):
        return spec           # a mechanism built in Python (studies vary its parameters)
    if isinstance(spec, str):
        path = Path(spec)
        if not path.is_absolute():
            path = base_dir / path
        if not path.is_file():
            raise where.error(f"mechanism file not found: {spec}")
        return Mechanism.from_yaml(path)
    if isinstance(spec, dict):
        data = dict(spec)
        if "units" not in data and "cantera" not in data and route_units is not None:
            data["units"] = route_units   # an inline mechanism shares the route's units
        return Mechanism.from_dict(data, source=where.source, base_dir=base_dir,
                                   where=where)
    raise where.error(f"expected a mechanism file name or mapping, got {type(spec).__name__}")


def _solver_options(spec, where: Location, source):
    if spec is None:
        return SolverOptions(source=source)
    _check_keys(spec, SOLVER_KEYS, where, "solver options")
    kwargs = dict(spec)
    return SolverOptions(source=source, **kwargs)


FLOW_MODELS = ("plug", "dispersion", "laminar")


def _build_operation(otype, name, od, units, source, where: Location, options, liquid, mechanism):
    simple = dict(source=source, where=where.path)
    if otype == "mixer":
        return Mixer(name, **simple)
    if otype == "splitter":
        if "fractions" not in od:
            raise where.error("missing 'fractions'")
        return Splitter(od["fractions"], name, **simple)
    if otype == "heat_exchanger":
        if "T" not in od:
            raise where.error("missing 'T' (the outlet temperature)")
        return HeatExchanger(od["T"], name, units=units, **simple)
    if otype == "quench":
        return Quench(name, time=od.get("time"), T=od.get("T"), options=options, units=units, **simple)
    if otype == "separator":
        return Separator(mechanism, name, partition=od.get("partition"), split=od.get("split"),
                         aqueous=od.get("aqueous"), phase_ratio=od.get("phase_ratio"),
                         default=od.get("default", "organic"), units=units, **simple)
    common = dict(name=name, options=options, units=units, source=source, where=where.path,
                  energy=od.get("energy"), properties=od.get("properties"))
    if otype == "pfr":
        model = od.get("flow_model", "plug")
        if model not in FLOW_MODELS:
            raise where.key("flow_model").error(
                f"unknown flow model {model!r} (choose {', '.join(FLOW_MODELS)})")
        extra = [k for k in ("Pe", "D", "diffusivity", "n_cells") if k in od]
        if model == "plug":
            if extra:
                raise where.key(extra[0]).error(f"'{extra[0]}' needs flow_model: dispersion")
            return PFR(od.get("volume"), od.get("T"), length=od.get("length"),
                       diameter=od.get("diameter"), coil_diameter=od.get("coil_diameter"), **common)
        return _non_ideal_pfr(model, name, od, units, source, where, options, liquid, extra)
    if otype == "cstr":
        if "volume" not in od:
            raise where.error("missing 'volume'")
        return CSTR(od["volume"], od.get("T"), **common)
    if otype == "cstr_cascade":
        for key in ("n", "volume"):
            if key not in od:
                raise where.error(f"missing '{key}'")
        return CSTRCascade(od["n"], od["volume"], od.get("T"), **common)
    raise AssertionError(otype)


def _non_ideal_pfr(model, name, od, units, source, where: Location, options, liquid, extra):
    from ..reactors.nonideal import DispersionPFR, LaminarPFR

    if od.get("energy") not in (None, "isothermal"):
        raise where.key("energy").error(f"flow_model: {model} is isothermal for now; "
                                        "use flow_model: plug for energy balances")
    geometry = dict(volume=od.get("volume"), length=od.get("length"), diameter=od.get("diameter"),
                    T=od.get("T"), name=name, options=options, units=units, source=source,
                    where=where.path)
    if model == "laminar":
        if extra:
            raise where.key(extra[0]).error(f"'{extra[0]}' has no meaning for flow_model: laminar")
        return LaminarPFR(**geometry)
    kwargs = {k: od[k] for k in ("Pe", "D", "diffusivity", "n_cells") if k in od}
    if not any(k in kwargs for k in ("Pe", "D", "diffusivity")):
        # Taylor-Aris from the liquid's molecular diffusivity and the tube geometry
        props = liquid.merged(od.get("properties"), units, source, where.key("properties"))
        kwargs["diffusivity"] = props.diffusivity
    return DispersionPFR(**geometry, **kwargs)


def _product_spec(spec, where: Location, route):
    _check_keys(spec, PRODUCT_KEYS, where, "the product")
    for key in ("from", "species", "basis"):
        if key not in spec:
            raise where.error(f"missing '{key}'")
    src = spec["from"]
    if src not in route.producer:
        raise where.key("from").error(f"unknown stream {src!r}")
    names = route.mechanism.species_names
    for key in ("species", "basis"):
        if spec[key] not in names:
            raise where.key(key).error(f"unknown species {spec[key]!r}")
    impurities = spec.get("impurities")
    if impurities is not None:
        if not isinstance(impurities, list):
            raise where.key("impurities").error("expected a list of species names")
        for i, sp in enumerate(impurities):
            if sp not in names:
                raise where.key("impurities").item(i).error(f"unknown species {sp!r}")
    basis_fed = sum(route.feeds[f].molar_flows[names.index(spec["basis"])]
                    for f in route.feeds if f in route.upstream(src))
    if basis_fed <= 0:
        raise where.key("basis").error(f"{spec['basis']!r} is not fed upstream of {src!r}")
    product = dict(spec)
    # fixed by the mechanism, the two species (and, rarely, the feeds): once per load
    product["stoichiometric_factor"] = product_factor(route, product, where)
    return product


def load_route(path):
    """Read and validate a route file; returns a :class:`Route`."""
    data, source = read_yaml(path)
    return Route.from_dict(data, source=source, base_dir=Path(path).resolve().parent)


class RouteResult:
    """Streams, per-operation results, product KPIs and balances of a run
    (computed by :mod:`flowchem.process.kpis`)."""

    def __init__(self, route, streams, operations, elapsed):
        self.route = route
        self.streams = streams
        self.operations = operations
        self.elapsed = elapsed
        self.product = product_kpis(route, streams, operations)
        self.balance = balance_closure(route, streams)

    def __getitem__(self, name):
        return self.streams[name]

    def to_dict(self):
        ops = {}
        for name in self.route.operations:
            ops[name] = self.operations[name].to_dict()
        return {
            "route": self.route.name,
            "streams": {name: s.to_dict() for name, s in self.streams.items()},
            "operations": ops,
            "product": self.product,
            "reference_comparison": self.reference_comparison(),
            "balance": self.balance,
            "run_time_s": self.elapsed,
        }

    def reference_comparison(self):
        """Model against the route's published figures: value, reference and
        relative difference per KPI (None without a reference)."""
        ref = self.route.reference
        if not ref or self.product is None:
            return None
        rows = {}
        for key, (kpi, value) in ref["values"].items():
            model = self.product.get(kpi)
            rows[key] = {"model": model, "reference": value,
                         "relative_difference": None if model is None or value == 0
                         else (model - value) / value, "kpi": kpi}
        return {"source": ref["source"], "values": rows}

    def write_json(self, path):
        """Write :meth:`to_dict` as JSON atomically (no half-written file)."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")

    def stream_table(self, conc_unit="mol/L", flow_unit="mL/min"):
        from ..reporting.tables import stream_table

        return stream_table(self, conc_unit=conc_unit, flow_unit=flow_unit)

    def summary(self):
        from ..reporting.tables import summary

        return summary(self)
