"""Routes: feeds and unit operations read from a route file, solved in
dependency order, with product KPIs and balance closure.

See DESIGN.md for the file format. Everything is validated when the route is
loaded, before any numerics run, so a bad file fails fast and writes nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from .errors import InputError, Location
from .mechanism import Mechanism
from .operations import Mixer
from .properties import LiquidProperties
from .reactors import CSTR, PFR, CSTRCascade
from .solver import SolverOptions
from .stream import Stream
from .units import parse_units_block
from .yamlio import read_yaml

ROUTE_KEYS = ("name", "description", "mechanism", "units", "properties", "feeds", "operations",
              "product", "solver")
FEED_KEYS = ("name", "flow", "T", "P", "conc", "properties")
COMMON_OP_KEYS = ("name", "type", "from")
REACTOR_KEYS = ("T", "energy", "properties")
OPERATION_KEYS = {
    "mixer": (),
    "pfr": ("volume", "length", "diameter", "coil_diameter", "flow_model", "Pe", "D", "diffusivity",
            "n_cells") + REACTOR_KEYS,
    "cstr": ("volume",) + REACTOR_KEYS,
    "cstr_cascade": ("n", "volume") + REACTOR_KEYS,
}
REACTOR_TYPES = ("pfr", "cstr", "cstr_cascade")
PRODUCT_KEYS = ("from", "species", "basis")
SOLVER_KEYS = ("rtol", "atol", "method", "max_steps")


def _check_keys(mapping, allowed, where: Location, what):
    if not isinstance(mapping, dict):
        raise where.error(f"expected a mapping for {what}, got {type(mapping).__name__}")
    unknown = [k for k in mapping if k not in allowed]
    if unknown:
        raise where.key(unknown[0]).error(
            f"unknown key {unknown[0]!r} in {what} (allowed: {', '.join(allowed)})")


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
                 source="<python>"):
        self.name = name
        self.mechanism = mechanism
        self.feeds = feeds              # name -> Stream
        self.operations = operations    # name -> Mixer/PFR/CSTR/CSTRCascade, in file order
        self.links = links              # name -> list of inlet names
        self.product = product
        self.options = options or SolverOptions()
        self.source = source
        self.order = _dependency_order(feeds, operations, links, source)

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
        feeds = {}
        for i, fd in enumerate(feeds_data):
            where = root.key("feeds").item(i)
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
            _check_keys(od, COMMON_OP_KEYS + OPERATION_KEYS[otype], where, f"a {otype}")
            oname = _name(od["name"], where.key("name"))
            if oname in operations or oname in feeds:
                raise where.key("name").error(f"duplicate name {oname!r}")
            inlets = od["from"]
            if otype == "mixer":
                if not isinstance(inlets, list) or not inlets:
                    raise where.key("from").error("a mixer takes a non-empty list of inlets")
            else:
                if isinstance(inlets, list):
                    raise where.key("from").error(
                        f"a {otype} takes one inlet; put a mixer in front to combine {inlets}")
                inlets = [inlets]
            for j, inlet in enumerate(inlets):
                _name(inlet, where.key("from"))
            links[oname] = list(inlets)
            operations[oname] = _build_operation(otype, oname, od, units, source, where, options,
                                                 liquid)

        route = cls(name, mechanism, feeds, operations, links, None, options, source)
        if "product" in data:
            route.product = _product_spec(data["product"], root.key("product"), route)
        return route

    # -- running --------------------------------------------------------
    def run(self, progress=None):
        """Solve every operation in dependency order; returns a :class:`RouteResult`.

        ``progress``, if given, is called as ``progress(i, n, name)`` before
        each operation.
        """
        streams = {name: feed for name, feed in self.feeds.items()}
        results = {}
        t0 = time.perf_counter()
        for i, name in enumerate(self.order):
            if progress is not None:
                progress(i, len(self.order), name)
            op = self.operations[name]
            inlets = [streams[n] for n in self.links[name]]
            if isinstance(op, Mixer):
                res = op.run(inlets)
            else:
                res = op.run(inlets[0])
            res.outlet.name = name
            results[name] = res
            streams[name] = res.outlet
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
            if op_name not in needed:
                continue
            op = self.operations[op_name]
            inlets = [streams[n] for n in self.links[op_name]]
            res = op.run(inlets) if isinstance(op, Mixer) else op.run(inlets[0])
            res.outlet.name = op_name
            streams[op_name] = res.outlet
        return [streams[n] for n in self.links[name]]

    def upstream(self, name):
        """Names of every feed and operation upstream of ``name`` (inclusive)."""
        seen, stack = set(), [name]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(self.links.get(n, []))
        return seen


def _dependency_order(feeds, operations, links, source):
    index = {name: i for i, name in enumerate(operations)}
    """Topological order of the operations; refuses unknown inlets, reused
    streams and cycles, naming them."""
    consumer = {}
    for name, inlets in links.items():
        for inlet in inlets:
            if inlet not in feeds and inlet not in operations:
                raise InputError(f"unknown stream {inlet!r} (feeds and operations: "
                                 f"{', '.join(list(feeds) + list(operations))})", source,
                                 f"operations[{index[name]}].from")
            if inlet == name:
                raise InputError("an operation cannot take its own outlet", source, f"operations[{index[name]}].from")
            if inlet in consumer:
                raise InputError(f"stream {inlet!r} is already the inlet of {consumer[inlet]!r}; "
                                 "a stream can feed only one operation", source, f"operations[{index[name]}].from")
            consumer[inlet] = name
    order, state = [], {}

    def visit(n, path):
        if state.get(n) == "done":
            return
        if state.get(n) == "active":
            cycle = path[path.index(n):] + [n]
            raise InputError(f"the operations form a cycle: {' -> '.join(cycle)} "
                             "(recycle loops are not supported)", source, "operations")
        state[n] = "active"
        for inlet in links[n]:
            if inlet in operations:
                visit(inlet, path + [n])
        state[n] = "done"
        order.append(n)

    for n in operations:
        visit(n, [])
    unused = [f for f in feeds if f not in consumer]
    if unused:
        raise InputError(f"feed {unused[0]!r} is not the inlet of any operation", source, "feeds")
    return order


def _load_route_mechanism(spec, where: Location, base_dir: Path, route_units):
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


def _build_operation(otype, name, od, units, source, where: Location, options, liquid):
    common = dict(name=name, options=options, units=units, source=source, where=where.path,
                  energy=od.get("energy"), properties=od.get("properties"))
    if otype == "mixer":
        return Mixer(name)
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
    from .nonideal import DispersionPFR, LaminarPFR

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
    for key in PRODUCT_KEYS:
        if key not in spec:
            raise where.error(f"missing '{key}'")
    src = spec["from"]
    if src not in route.operations and src not in route.feeds:
        raise where.key("from").error(f"unknown stream {src!r}")
    names = route.mechanism.species_names
    for key in ("species", "basis"):
        if spec[key] not in names:
            raise where.key(key).error(f"unknown species {spec[key]!r}")
    basis_fed = sum(route.feeds[f].molar_flows[names.index(spec["basis"])]
                    for f in route.feeds if f in route.upstream(src))
    if basis_fed <= 0:
        raise where.key("basis").error(f"{spec['basis']!r} is not fed upstream of {src!r}")
    return dict(spec)


def load_route(path):
    """Read and validate a route file; returns a :class:`Route`."""
    data, source = read_yaml(path)
    return Route.from_dict(data, source=source, base_dir=Path(path).resolve().parent)


def _stoichiometric_factor(mechanism, basis, product):
    """Moles of basis per mole of product along the first reaction that makes
    the product directly from the basis; 1 where no reaction links them."""
    for r in mechanism.reactions:
        if basis in r.reactants and product in r.products:
            return r.reactants[basis] / r.products[product]
    return 1.0


class RouteResult:
    """Streams, per-operation results, product KPIs and balances of a run."""

    def __init__(self, route, streams, operations, elapsed):
        self.route = route
        self.streams = streams
        self.operations = operations
        self.elapsed = elapsed
        self.product = self._product_kpis()
        self.balance = self._balance()

    def __getitem__(self, name):
        return self.streams[name]

    def _terminal_streams(self):
        used = {inlet for inlets in self.route.links.values() for inlet in inlets}
        return [name for name in self.streams if name not in used]

    def _product_kpis(self):
        spec = self.route.product
        if spec is None:
            return None
        mech = self.route.mechanism
        names = mech.species_names
        ip, ib = names.index(spec["species"]), names.index(spec["basis"])
        up = self.route.upstream(spec["from"])
        feeds = [self.route.feeds[f] for f in self.route.feeds if f in up]
        basis_in = sum(f.molar_flows[ib] for f in feeds)
        product_in = sum(f.molar_flows[ip] for f in feeds)
        out = self.streams[spec["from"]]
        basis_out = out.molar_flows[ib]
        product_out = out.molar_flows[ip]
        factor = _stoichiometric_factor(mech, spec["basis"], spec["species"])
        conversion = 1.0 - basis_out / basis_in
        yield_ = (product_out - product_in) * factor / basis_in
        selectivity = yield_ / conversion if conversion > 1e-12 else None
        molar_mass = mech.molar_masses[ip]
        rate_kg_h = None if np.isnan(molar_mass) else float(product_out * molar_mass * 3600.0)
        reactors = [n for n in up if n in self.operations and hasattr(self.operations[n], "volume")]
        volume = sum(self.operations[n].volume for n in reactors)
        residence = sum(self.operations[n].residence_time for n in reactors)
        sty = rate_kg_h / volume if (rate_kg_h is not None and volume > 0) else None
        return {
            "species": spec["species"], "basis": spec["basis"], "from": spec["from"],
            "conversion": float(conversion), "yield": float(yield_),
            "selectivity": None if selectivity is None else float(selectivity),
            "production_rate_mol_per_s": float(product_out),
            "production_rate_kg_per_h": rate_kg_h,
            "space_time_yield_kg_per_m3_h": sty,
            "reactor_volume_m3": float(volume),
            "residence_time_s": float(residence),
            "stoichiometric_factor": float(factor),
        }

    def _balance(self):
        mech = self.route.mechanism
        masses = mech.molar_masses
        feeds = list(self.route.feeds.values())
        outs = [self.streams[n] for n in self._terminal_streams()]
        mol_in = sum(f.molar_flows for f in feeds)
        mol_out = sum(s.molar_flows for s in outs)
        known = ~np.isnan(masses)
        mass_in = float(np.sum(mol_in[known] * masses[known]))
        mass_out = float(np.sum(mol_out[known] * masses[known]))
        unknown_present = [n for n, k, a, b in zip(mech.species_names, known, mol_in, mol_out)
                           if not k and (a != 0 or b != 0)]
        closure = abs(mass_out - mass_in) / mass_in if mass_in > 0 else None
        elements = {}
        matrix = mech.element_matrix
        for e, row in zip(mech.elements, matrix):
            ok = ~np.isnan(row)
            a_in = float(np.sum(row[ok] * mol_in[ok]))
            a_out = float(np.sum(row[ok] * mol_out[ok]))
            if a_in > 0:
                elements[e] = abs(a_out - a_in) / a_in
        return {
            "mass_in_kg_per_s": mass_in, "mass_out_kg_per_s": mass_out,
            "mass_closure_rel": closure,
            "species_without_molar_mass": unknown_present,
            "element_closure_rel": elements,
            "outlets": self._terminal_streams(),
        }

    def to_dict(self):
        ops = {}
        for name in self.route.operations:
            ops[name] = self.operations[name].to_dict()
        return {
            "route": self.route.name,
            "streams": {name: s.to_dict() for name, s in self.streams.items()},
            "operations": ops,
            "product": self.product,
            "balance": self.balance,
            "run_time_s": self.elapsed,
        }

    def write_json(self, path):
        """Write :meth:`to_dict` as JSON atomically (no half-written file)."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        directory = path.parent if str(path.parent) else Path(".")
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".flowchem-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text + "\n")
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def stream_table(self, conc_unit="mol/L", flow_unit="mL/min"):
        from .report import stream_table

        return stream_table(self, conc_unit=conc_unit, flow_unit=flow_unit)

    def summary(self):
        from .report import summary

        return summary(self)
