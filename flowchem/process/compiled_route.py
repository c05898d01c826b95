"""A route compiled to flat arrays and evaluated for a whole matrix of points
in one Numba call (:func:`kernels.route_ensemble.run_route_ensemble`).

::

    cr = CompiledRoute(route, ["R1.T", "amine.flow"])
    values, status = cr.evaluate(X)      # X: (n_points, 2), SI
    # values[:, j] is study-table column cr.columns[j]; status[i] is "ok" or why

The rows equal ``row_from_result(columns, route_at_point.run())`` of the
per-point Python route (same integrator calls, same step sequences; see the
kernel module). Covered: feeds (factors ``flow``, ``T``, ``P``,
``conc.SPECIES``), mixers, splitters, heat exchangers (``T``), plug-flow
tubes (``T``, ``volume``, ``length``, ``diameter``, ``energy.U``,
``energy.coolant_T``; isothermal, adiabatic or cooled with a given U), CSTRs
and cascades (``T``, ``volume``, ``energy.U``, ``energy.coolant_T``,
``energy.area``), quenches (``time``, ``T``) and separators
(``phase_ratio``, ``partition.SPECIES``, ``split.SPECIES``). Kinetic
parameters vary per point through a
:class:`~flowchem.chemistry.parameters.ParameterMap`. Anything else
(dispersion or laminar flow models, ``U: auto``, the number of tanks or a
splitter's fractions as factors, the BDF or explicit integrators) raises
:class:`NotCompilable`, and callers fall back to the per-point route.
"""

from __future__ import annotations

import math

import numpy as np

from ..chemistry.properties import LiquidProperties
from ..core.errors import InputError, SolverError
from ..core.units import KINDS, parse_quantity
from ..reactors.ideal import NEGATIVE_ROUNDOFF_ATOLS, PFR, CSTRCascade
from ..reactors.solver import compiled_mechanism, explicit_method
from .operations import HeatExchanger, Mixer, Quench, Separator, Splitter
from .study_table import OK, by_products, kpi_columns

__all__ = ["NotCompilable", "CompiledRoute"]


class NotCompilable(Exception):
    """The route or a factor is outside the compiled path; ``str()`` says
    which and why."""


# register columns after the concentrations (kernels.route_ensemble)
_FLOW, _T, _RHO, _CP, _MU = 0, 1, 2, 3, 4
_FEED_WIDTH_EXTRA = 5
# reactor parameter block: volume, T, U, area per volume, coolant T, rho, cp, mu
_RV, _RT, _RU, _RAPV, _RTC, _RRHO, _RCP, _RMU = range(8)

_MODES = {"isothermal": 0, "adiabatic": 1, "cooled": 2}


class _Factor:
    """How one factor enters the parameter matrix and how a bad value is refused."""

    def __init__(self, name, slot, kind, where, check, geometry=None):
        self.name = name
        self.slot = slot          # column of the parameter matrix, or None (geometry only)
        self.kind = kind          # unit kind of parse_quantity
        self.where = where        # entry path in the route file
        self.check = check        # "positive", "nonnegative" or "fraction"
        self.geometry = geometry  # (operation name, "volume" | "length" | "diameter" | "area")


class CompiledRoute:
    """A route turned into the program of :func:`kernels.route_ensemble.run_route_ensemble`.

    Parameters
    ----------
    route : Route
        A loaded route: the base point.
    factors : list of str
        Factor names ``ENTRY.KEY[.SUBKEY]`` (DESIGN.md, "Study files").
    kinetic : ParameterMap, optional
        Kinetic parameters whose θ varies per point.

    Raises
    ------
    NotCompilable
        For an operation, option or factor the compiled path does not cover.
    """

    def __init__(self, route, factors, kinetic=None):
        from kernels import route_ensemble as kre

        self.route = route
        self.factors = list(factors)
        self.kinetic = kinetic
        self.columns = kpi_columns(route)
        mech = route.mechanism
        self.mechanism = mech
        compiled = compiled_mechanism(mech)
        self._compiled = compiled
        n, m = compiled.n_species, compiled.n_reactions
        self.n = n
        dH = np.asarray(compiled.delta_H, dtype=float)
        self._has_heat = bool(np.any(dH != 0.0))
        options = route.options
        for n_state in (n, n + 1, n + 2):
            method = options.integrator(n_state)
            if method not in ("rodas", "auto-switch"):
                raise NotCompilable(f"solver method {method!r}: only Rodas5P and auto-switch "
                                    f"are compiled (solver.method: rodas)")
        # 0: Rodas5P alone; 1, 2: DOPRI5, DOP853 first (method auto-switch)
        self._explicit_first = 0 if options.method != "auto-switch" else \
            {"dopri5": 1, "dop853": 2}[explicit_method(options.rtol)]
        self._rtol = float(options.rtol)
        self._atol = float(options.atol) if options.atol is not None else 0.0
        self._max_steps = int(options.max_steps)

        # -- registers: every feed and every operation outlet ------------------
        graph = route.graph
        self._reg = {}
        for f in route.feeds:
            self._reg[f] = len(self._reg)
        for op_name in route.order:
            for s in graph.outlets(op_name):
                self._reg[s] = len(self._reg)

        # -- base parameter vector ---------------------------------------------
        p0 = []
        self._slot = {}
        feed_reg, feed_slot = [], []
        default = LiquidProperties.default()
        self._feed_index = {}
        for i, (fname, feed) in enumerate(route.feeds.items()):
            self._feed_index[fname] = i
            props = feed.properties or default
            feed_reg.append(self._reg[fname])
            feed_slot.append(len(p0))
            self._slot[(fname, "flow")] = len(p0)
            self._slot[(fname, "T")] = len(p0) + 1
            p0 += [feed.flow, feed.T, props.density, props.cp, props.viscosity]
            for sp, c in zip(mech.species_names, feed.conc):
                self._slot[(fname, f"conc.{sp}")] = len(p0)
                p0.append(float(c))
            self._slot[(fname, "P")] = None   # the pressure reaches no table column
        ops = route.operations
        self._op_index = {name: i for i, name in enumerate(ops)}
        op_code, op_slot, op_int = [], [], []
        in_ptr, in_list, in_flag, out_ptr, out_list = [0], [], [], [0], []
        self._geometry = {}        # PFR name -> given geometry and base values
        self._reactors = []        # (op position in program, name, op)
        self._tanks = {}
        for k, name in enumerate(route.order):
            op = ops[name]
            inlets = [self._reg[s] for s in route.links[name]]
            outlets = [self._reg[s] for s in graph.outlets(name)]
            ints = [0, 0, 0, 0]
            slot = len(p0)
            flags = [0] * len(inlets)
            if isinstance(op, Mixer):
                code = kre.OP_MIXER
            elif isinstance(op, Splitter):
                code = kre.OP_SPLITTER
                p0 += [op.fractions[key] for key in op.outlet_names]
            elif isinstance(op, HeatExchanger):
                code = kre.OP_HEAT_EXCHANGER
                self._slot[(name, "T")] = slot
                p0.append(op.T)
            elif isinstance(op, Quench):
                code = kre.OP_QUENCH
                self._slot[(name, "time")] = slot
                self._slot[(name, "T")] = slot + 1
                p0 += [op.time, np.nan if op.T is None else op.T]
            elif isinstance(op, Separator):
                code = kre.OP_SEPARATOR
                ints[3] = 1 if op.default == "organic" else 0
                if op.aqueous is not None:
                    ints[2] = 1
                    names = op.inlet_names or route.links[name]
                    flags = [1 if s in op.aqueous else 0 for s in names]
                    unknown = [a for a in op.aqueous if a not in names]
                    if unknown:
                        raise NotCompilable(f"{name}: {unknown[0]!r} is not an inlet")
                else:
                    self._slot[(name, "phase_ratio")] = slot
                p0.append(np.nan if op.phase_ratio is None else op.phase_ratio)
                for i, sp in enumerate(mech.species_names):
                    self._slot[(name, f"split.{sp}")] = slot + 1 + i
                    self._slot[(name, f"partition.{sp}")] = slot + 1 + n + i
                p0 += list(op.fraction_organic) + list(op.partition)
                self._separator_tables = getattr(self, "_separator_tables", {})
                self._separator_tables[name] = op
            elif isinstance(op, (PFR, CSTRCascade)):
                code = self._reactor(name, op, ints, slot, p0)
                self._reactors.append((k, name, op))
            else:
                raise NotCompilable(f"{name}: operation type {getattr(op, 'kind', type(op).__name__)!r} "
                                    "is not compiled")
            op_code.append(code)
            op_slot.append(slot)
            op_int.append(ints)
            in_list += inlets
            in_flag += flags
            in_ptr.append(len(in_list))
            out_list += outlets
            out_ptr.append(len(out_list))
        self._p0 = np.asarray(p0, dtype=float)
        self._op_order = list(route.order)
        self._n_reg = len(self._reg)

        # -- product ------------------------------------------------------------
        spec = route.product
        self._out_reg = []
        if spec is not None:
            names = mech.species_names
            self._ip, self._ib = names.index(spec["species"]), names.index(spec["basis"])
            self._product_reg = 0
            self._out_reg.append(self._reg[spec["from"]])
            up = route.upstream(spec["from"])
            self._product_feeds = [f for f in route.feeds if f in up]
            self._product_reactors = [name for name in route.order if name in up and
                                      isinstance(ops[name], (PFR, CSTRCascade))]
            self._factor = spec.get("stoichiometric_factor")
            if self._factor is None:
                from .kpis import product_factor

                self._factor = product_factor(route, spec)
            self._molar_mass = float(mech.molar_masses[self._ip])
            self._impurities = by_products(route)
            self._impurities_given = spec.get("impurities") is not None

        # -- the mechanism: model, heat and energy stoichiometry, raw parameters
        self._model = tuple(np.ascontiguousarray(a) for a in compiled.model)
        self._heat_s = _heat_stoichiometry(compiled, with_T=False)
        self._energy_s = _heat_stoichiometry(compiled, with_T=True)
        from ..chemistry.parameters import RawLayout

        self._layout = RawLayout(compiled)
        self._raw_base = self._layout.pack(compiled)[None, :]
        if kinetic is not None:
            if kinetic.mechanism is not mech and (
                    kinetic.mechanism.species_names != mech.species_names
                    or kinetic.mechanism.reaction_ids != mech.reaction_ids):
                raise NotCompilable("the kinetic parameters belong to another mechanism")
            changed = np.flatnonzero(np.any(kinetic.M[self._layout.dH:] != 0.0, axis=1))
            if np.any(dH[changed] == 0.0):
                raise NotCompilable("a reaction enthalpy that is zero in the route's mechanism "
                                    "varies: the heat rows are fixed at compile time")

        # -- factors ----------------------------------------------------------------
        self._program = (np.asarray(op_code, dtype=np.int64), np.asarray(op_slot, dtype=np.int64),
                         np.asarray(op_int, dtype=np.int64).reshape(-1, 4),
                         np.asarray(in_ptr, dtype=np.int64), np.asarray(in_list, dtype=np.int64),
                         np.asarray(in_flag, dtype=np.int64), np.asarray(out_ptr, dtype=np.int64),
                         np.asarray(out_list, dtype=np.int64), np.asarray(feed_reg, dtype=np.int64),
                         np.asarray(feed_slot, dtype=np.int64))
        self._factor_specs = [self._parse_factor(f) for f in self.factors]
        seen = set()
        for f in self.factors:
            if f in seen:
                raise NotCompilable(f"factor {f!r} is named twice")
            seen.add(f)
        # operations that no factor (and no kinetic parameter) reaches are
        # solved once, on the base point, and reused by every point
        varied = {f.split(".", 1)[0] for f, spec in zip(self.factors, self._factor_specs)
                  if spec.slot is not None or spec.geometry is not None}
        if kinetic is not None:
            varied |= {name for name, op in ops.items() if isinstance(op, (PFR, CSTRCascade, Quench))}
        variant = {f for f in route.feeds if f in varied}
        for name in route.order:
            if name in varied or any(route.producer[s] in variant for s in route.links[name]):
                variant.add(name)
        self._invariant = np.array([0 if name in variant else 1 for name in route.order],
                                   dtype=np.int64)
        self._preset = None

    # -- construction helpers ------------------------------------------------------
    def _reactor(self, name, op, ints, slot, p0):
        from kernels import route_ensemble as kre

        if type(op) not in (PFR,) and not isinstance(op, CSTRCascade):
            raise NotCompilable(f"{name}: flow model {getattr(op, 'flow_model', type(op).__name__)!r} "
                                "is not compiled (only plug flow)")
        e = op.energy
        if e.mode == "cooled" and e.U == "auto":
            raise NotCompilable(f"{name}: U: auto is not compiled (give U)")
        ints[1] = _MODES[e.mode]
        props = op.properties
        ints[2] = 0 if props is None else 1
        if isinstance(op, CSTRCascade):
            code = kre.OP_TANKS
            ints[0] = op.n
            apv = e.area / op.volume if e.mode == "cooled" else 0.0
            self._tanks[name] = op
        else:
            code = kre.OP_PFR
            apv = 4.0 / op.diameter if op.diameter is not None else 0.0
            self._geometry[name] = _pfr_geometry(op)
        p0 += [op.volume, np.nan if op.T is None else op.T,
               float(e.U) if e.mode == "cooled" else 0.0, apv,
               e.coolant_T if e.coolant_T is not None else 0.0,
               props.density if props else np.nan, props.cp if props else np.nan,
               props.viscosity if props else np.nan]
        return code

    def _parse_factor(self, factor):
        route = self.route
        if not isinstance(factor, str) or "." not in factor:
            raise NotCompilable(f"factor {factor!r}: expected ENTRY.KEY")
        entry, key = factor.split(".", 1)
        if entry in route.feeds:
            where = f"feeds[{self._feed_index[entry]}].{key}"
            if key == "flow":
                return _Factor(factor, self._slot[(entry, "flow")], "flow", where, "positive")
            if key == "T":
                return _Factor(factor, self._slot[(entry, "T")], "temperature", where, "positive")
            if key == "P":
                return _Factor(factor, None, "pressure", where, "positive")
            if key.startswith("conc.") and (entry, key) in self._slot:
                return _Factor(factor, self._slot[(entry, key)], "concentration", where,
                               "nonnegative")
            raise NotCompilable(f"factor {factor!r}: feed key {key!r} is not compiled")
        if entry not in route.operations:
            raise NotCompilable(f"factor {factor!r}: no feed or operation {entry!r}")
        op = route.operations[entry]
        where = f"operations[{self._op_index[entry]}].{key}"
        slot = self._slot.get((entry, key))
        if isinstance(op, (HeatExchanger, Quench)) and key in ("T", "time"):
            return _Factor(factor, slot, "temperature" if key == "T" else "time", where, "positive")
        if isinstance(op, Separator):
            if key == "phase_ratio" and slot is not None:
                return _Factor(factor, slot, "dimensionless", where, "positive")
            if (key.startswith("partition.") or key.startswith("split.")) and slot is not None:
                table = op.partition if key.startswith("partition.") else op.fraction_organic
                i = self.mechanism.species_names.index(key.split(".", 1)[1])
                if np.isnan(table[i]):
                    raise NotCompilable(f"factor {factor!r}: the route gives no such entry")
                return _Factor(factor, slot, "dimensionless", where,
                               "nonnegative" if key.startswith("partition.") else "fraction")
            raise NotCompilable(f"factor {factor!r}: separator key {key!r} is not compiled")
        if not isinstance(op, (PFR, CSTRCascade)):
            raise NotCompilable(f"factor {factor!r}: key {key!r} of a "
                                f"{getattr(op, 'kind', '')} is not compiled")
        base = self._reactor_slot(entry)
        e = op.energy
        if key == "T":
            if not e.isothermal:
                raise NotCompilable(f"factor {factor!r}: an {e.mode} reactor starts from its "
                                    "inlet temperature (vary energy.coolant_T or a feed T)")
            return _Factor(factor, base + _RT, "temperature", where, "positive")
        if key == "energy.coolant_T" and e.mode == "cooled":
            return _Factor(factor, base + _RTC, "temperature", where, "positive")
        if key == "energy.U" and e.mode == "cooled":
            return _Factor(factor, base + _RU, "heat_transfer_coefficient", where, "nonnegative")
        if isinstance(op, CSTRCascade):
            if key == "volume":
                return _Factor(factor, base + _RV, "volume", where, "positive", (entry, "volume"))
            if key == "energy.area" and e.mode == "cooled":
                return _Factor(factor, None, "area", where, "positive", (entry, "area"))
            raise NotCompilable(f"factor {factor!r}: tank key {key!r} is not compiled")
        given = self._geometry[entry]["given"]
        if key in ("volume", "length", "diameter"):
            if key not in given:
                raise NotCompilable(f"factor {factor!r}: the route gives the tube by "
                                    f"{' and '.join(sorted(given))}, not {key}")
            return _Factor(factor, None, "volume" if key == "volume" else "length", where,
                           "positive", (entry, key))
        raise NotCompilable(f"factor {factor!r}: tube key {key!r} is not compiled")

    def _reactor_slot(self, name):
        k = self._op_order.index(name)
        return int(self._program[1][k])

    # -- evaluation ----------------------------------------------------------------
    def parameter_matrix(self, X):
        """Per-point parameter rows for the kernel, the tube geometry per
        point, and the status of points refused as input errors."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.factors):
            raise ValueError(f"expected X of shape (n_points, {len(self.factors)}), got {X.shape}")
        n_points = X.shape[0]
        P = np.tile(self._p0, (n_points, 1))
        status = [OK] * n_points
        bad = np.zeros(n_points, dtype=bool)
        geometry_values = {}
        for j, f in enumerate(self._factor_specs):
            x = X[:, j]
            if f.check == "positive":
                wrong = ~(x > 0) | ~np.isfinite(x)
            else:
                wrong = ~(x >= 0) | ~np.isfinite(x)
                if f.check == "fraction":
                    wrong |= x > 1.0
            for i in np.flatnonzero(wrong & ~bad):
                status[i] = self._input_error(f, x[i])
                bad[i] = True
            if f.slot is not None:
                P[:, f.slot] = x
            if f.geometry is not None:
                geometry_values[f.geometry] = x
        # tube geometry as PFR.__init__ derives it; tank jacket area per volume
        tubes = {}
        for name, geo in self._geometry.items():
            V = geometry_values.get((name, "volume"), geo["volume"])
            L = geometry_values.get((name, "length"), geo["length"])
            d = geometry_values.get((name, "diameter"), geo["diameter"])
            given = geo["given"]
            with np.errstate(all="ignore"):
                if given == {"length", "diameter"}:
                    V = L * np.pi * d ** 2 / 4.0
                elif given == {"volume", "length"}:
                    area = V / L
                    d = np.sqrt(4.0 * area / np.pi)
                elif given == {"volume", "diameter"}:
                    area = np.pi * d ** 2 / 4
                    L = V / area
            base = self._reactor_slot(name)
            P[:, base + _RV] = V
            if d is not None:
                P[:, base + _RAPV] = 4.0 / np.asarray(d, dtype=float)
            tubes[name] = (L, d)
        for name, op in self._tanks.items():
            if op.energy.mode == "cooled" and ((name, "area") in geometry_values or
                                               (name, "volume") in geometry_values):
                base = self._reactor_slot(name)
                area = geometry_values.get((name, "area"), op.energy.area)
                with np.errstate(all="ignore"):
                    P[:, base + _RAPV] = area / P[:, base + _RV]
        return P, tubes, status, bad

    def _input_error(self, f, value):
        unit = KINDS[f.kind][0]
        text = f"{float(value)!r} {unit}"
        try:
            v = parse_quantity(text, f.kind, None, f.where, source=self.route.source,
                               positive=f.check == "positive", nonnegative=f.check != "positive")
            if f.check == "fraction" and v > 1.0:
                return str(InputError(f"a split fraction lies between 0 and 1, got {v}",
                                      self.route.source, f.where))
        except InputError as exc:
            return str(exc)
        return str(InputError(f"invalid value {value!r}", self.route.source, f.where))

    def raw_parameters(self, theta, n_points):
        """Kinetic parameters per point in the kernel's raw layout."""
        if theta is None or self.kinetic is None:
            if theta is not None:
                raise ValueError("theta given but the route was compiled without kinetic parameters")
            return np.ascontiguousarray(self._raw_base)
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (n_points, self.kinetic.n):
            raise ValueError(f"expected theta of shape ({n_points}, {self.kinetic.n}), got {theta.shape}")
        return np.ascontiguousarray(self.kinetic.raw0[None, :] + theta @ self.kinetic.M.T)

    def _kernel(self, P, raw, out_reg, skip, preset, preset_values, threads=None):
        import numba

        from kernels.route_ensemble import run_route_ensemble

        args = (np.ascontiguousarray(P), raw) + self._program + (
            np.int64(self._n_reg), np.int64(self.n), self._model, self._heat_s, self._energy_s,
            np.ascontiguousarray(self._compiled.rate_params[0], dtype=np.int64),
            np.bool_(self._has_heat), float(self._rtol), float(self._atol),
            np.int64(self._max_steps), np.asarray(out_reg, dtype=np.int64), skip, preset,
            preset_values, np.int64(self._explicit_first))
        previous = numba.get_num_threads()
        n_threads = previous if threads is None else \
            max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
        # points differ in cost (temperature, residence time): hand them out in
        # small chunks on demand instead of one static block per thread; a
        # chunk hand-out costs about 3 us (measured), so up to 32 points each
        # (chunks of 4 cost 0.75 us a point, 2 % of a 40 us SNAr point)
        chunk = numba.get_parallel_chunksize()
        numba.set_num_threads(n_threads)
        numba.set_parallel_chunksize(max(1, min(32, P.shape[0] // (8 * n_threads))))
        try:
            return run_route_ensemble(*args)
        finally:
            numba.set_parallel_chunksize(chunk)
            numba.set_num_threads(previous)

    def _base_registers(self):
        """Registers and values of the operations no point changes, solved once
        on the base point; ``(skip, preset, preset_values)``."""
        if self._preset is None:
            n_ops = len(self._op_order)
            width = self.n + _FEED_WIDTH_EXTRA
            none = (np.zeros(n_ops, dtype=np.int64), np.full((self._n_reg, width), np.nan),
                    np.full((n_ops, 4), np.nan))
            self._preset = none
            if np.any(self._invariant == 1):
                states, op_values, fail, _ = self._kernel(
                    self._p0[None, :], np.ascontiguousarray(self._raw_base),
                    np.arange(self._n_reg), *none, threads=1)
                if fail[0, 0] == 0:   # else every operation is run per point
                    self._preset = (self._invariant.copy(), np.ascontiguousarray(states[0]),
                                    np.ascontiguousarray(op_values[0]))
        return self._preset

    def run_kernel(self, X, theta=None, threads=None):
        """The raw kernel outputs for X: ``(P, tubes, status, bad, states,
        op_values, fail, fail_num)``."""
        P, tubes, status, bad = self.parameter_matrix(X)
        raw = self.raw_parameters(theta, P.shape[0])
        run = P.copy()
        run[bad] = self._p0      # refused points: run the base point, report the refusal
        skip, preset, preset_values = self._base_registers()
        states, op_values, fail, fail_num = self._kernel(run, raw, self._out_reg, skip, preset,
                                                         preset_values, threads)
        return P, tubes, status, bad, states, op_values, fail, fail_num

    def evaluate(self, X, theta=None, threads=None):
        """Study-table rows for the points ``X``.

        Parameters
        ----------
        X : array (n_points, n_factors)
            SI values of the factors (K, m^3/s, mol/m^3, m^3, m, W/m^2/K, s, Pa).
        theta : array (n_points, kinetic.n), optional
            Kinetic parameters per point (fitting coordinates of the ParameterMap).
        threads : int, optional
            Numba threads for this call (None: the current setting).

        Returns
        -------
        values : ndarray (n_points, len(columns))
            KPI cells, NaN where a cell is empty or the point failed.
        status : list of str
            ``"ok"`` or the reason the point failed, worded as the Python
            route's InputError or SolverError.
        """
        P, tubes, status, bad, states, op_values, fail, fail_num = self.run_kernel(X, theta, threads)
        n_points = P.shape[0]
        for i in np.flatnonzero((fail[:, 0] != 0) & ~bad):
            status[i] = self._failure_text(int(fail[i, 0]), int(fail[i, 1]), int(fail[i, 2]),
                                           fail_num[i], P[i])
            bad[i] = True
        values = np.full((n_points, len(self.columns)), np.nan)
        col = {c: j for j, c in enumerate(self.columns)}
        with np.errstate(all="ignore"):
            if self.route.product is not None:
                basis_in = self._product_columns(P, states, values, col)
                # the Python route refuses such a point when it loads it
                spec = self.route.product
                unfed = ~bad & ~(basis_in > 0)
                if np.any(unfed):
                    text = str(InputError(f"{spec['basis']!r} is not fed upstream of "
                                          f"{spec['from']!r}", self.route.source, "product.basis"))
                    for i in np.flatnonzero(unfed):
                        status[i] = text
                    bad |= unfed
            for k, name, op in self._reactors:
                c = f"operations.{name}.T_max_K"
                if c in col:
                    values[:, col[c]] = op_values[:, k, 0]
                c = f"operations.{name}.pressure_drop_Pa"
                if c in col:
                    L, d = tubes[name]
                    values[:, col[c]] = self._pressure_drop(op, op_values[:, k, 1], L, d,
                                                            op_values[:, k, 2], op_values[:, k, 3])
        values[bad] = np.nan
        return values, status

    # -- KPIs ----------------------------------------------------------------------------
    def _product_columns(self, P, states, values, col):
        n = self.n
        ip, ib = self._ip, self._ib
        mol_in = 0
        for fname in self._product_feeds:
            s = self._slot[(fname, "flow")]
            conc = P[:, s + _FEED_WIDTH_EXTRA: s + _FEED_WIDTH_EXTRA + n]
            mol_in = mol_in + conc * P[:, s:s + 1]
        out = states[:, 0, :]
        F = out[:, :n] * out[:, n + _FLOW: n + _FLOW + 1]
        basis_in, product_in = mol_in[:, ib], mol_in[:, ip]
        conversion = 1.0 - F[:, ib] / basis_in
        yield_ = (F[:, ip] - product_in) * self._factor / basis_in
        selectivity = np.where(conversion > 1e-12, yield_ / conversion, np.nan)
        rate = F[:, ip] * self._molar_mass * 3600.0     # NaN without a molar mass
        volume = 0
        for name in self._product_reactors:
            volume = volume + P[:, self._reactor_slot(name) + _RV]
        sty = np.where(volume > 0, rate / volume, np.nan) if self._product_reactors \
            else np.full(P.shape[0], np.nan)
        values[:, col["product.conversion"]] = conversion
        values[:, col["product.yield"]] = yield_
        values[:, col["product.selectivity"]] = selectivity
        values[:, col["product.production_rate_kg_per_h"]] = rate
        values[:, col["product.space_time_yield_kg_per_m3_h"]] = sty
        names = self.mechanism.species_names
        has_product = F[:, ip] > 0
        for sp in self._impurities:
            i = names.index(sp)
            v = 100.0 * F[:, i] / F[:, ip]
            ok = has_product
            if not self._impurities_given:
                ok = ok & (F[:, i] > mol_in[:, i] * (1 + 1e-9) + 1e-30)
            values[:, col[f"product.impurity.{sp}"]] = np.where(ok, v, np.nan)
        return basis_in

    @staticmethod
    def _pressure_drop(op, flow, L, d, rho, mu):
        """PFR.hydraulics: laminar straight tubes by Hagen-Poiseuille, laminar
        coils by Mishra-Gupta, vectorised; other regimes point by point."""
        from ..reactors import hydraulics as hy

        flow = np.asarray(flow, dtype=float)
        L = np.broadcast_to(np.asarray(L, dtype=float), flow.shape)
        d = np.broadcast_to(np.asarray(d, dtype=float), flow.shape)
        v = 4.0 * flow / (math.pi * d * d)
        Re = rho * v * d / mu
        Dc = op.coil_diameter
        if Dc is None:
            laminar = Re <= hy.LAMINAR_RE
            dp = 128.0 * mu * L * flow / (math.pi * d ** 4)
        else:
            laminar = Re < hy.LAMINAR_RE * (1.0 + 8.6 * (d / Dc) ** 0.45)
            De = Re * np.sqrt(d / Dc)
            factor = np.where(De <= 1.0, 1.0, 1.0 + 0.033 * np.log10(np.maximum(De, 1.0)) ** 4)
            f = 64.0 / Re * factor
            dp = f * L / d * rho * v * v / 2.0
        for i in np.flatnonzero(~laminar & np.isfinite(Re)):
            dp[i] = hy.pressure_drop(float(flow[i]), float(L[i]), float(d[i]), float(rho[i]),
                                     float(mu[i]), coil_diameter=Dc).pressure_drop_Pa
        return dp

    # -- failures ------------------------------------------------------------------------
    def _failure_text(self, kind, code, k, num, p):
        from kernels import route_ensemble as kre
        from kernels import status as kstatus

        name = self._op_order[k]
        op = self.route.operations[name]
        source = getattr(op, "source", self.route.source)
        where = getattr(op, "where", name)
        message = kstatus.MESSAGES.get(code, f"solver status {code}")
        if kind == kre.FAIL_NO_FLOW:
            return str(InputError("the feed has no flow", source, where))
        if kind == kre.FAIL_RATE_OVERFLOW:
            mech = self.mechanism
            j = int(num[0])
            which = "forward" if num[1] == 1.0 else "reverse"
            return str(InputError(
                f"the {which} rate constant of reaction {mech.reaction_ids[j]} "
                f"({mech.reactions[j].equation}) is not a finite number at T = {num[2]:.6g} K "
                "(it overflows 1.8e308 in SI units): its rate parameters describe no usable "
                "rate at this temperature", source, where))
        if kind == kre.FAIL_INTEGRATOR:
            return str(SolverError(name, f"rodas integrator stopped at t = {num[0]:.6g} s of "
                                         f"{num[1]:.6g} s: {message}"))
        if kind == kre.FAIL_NONFINITE:
            return str(SolverError(name, "integrator returned non-finite concentrations"))
        if kind == kre.FAIL_NEGATIVE:
            return str(SolverError(name, "the solution has a negative concentration "
                                         f"({num[0]:.3g} mol/m^3, below "
                                         f"{NEGATIVE_ROUNDOFF_ATOLS:g} times the absolute tolerance)"))
        if kind in (kre.FAIL_STEADY, kre.FAIL_STEADY_NONFINITE, kre.FAIL_STEADY_NEGATIVE):
            tank, n_tanks, chained = int(num[0]), int(num[1]), num[2] == 1.0
            label = f"{name} tank {tank + 1}" if (chained and n_tanks > 1) else name
            if kind == kre.FAIL_STEADY:
                suffix = f" (tank {tank + 1} of {n_tanks})" if (not chained and n_tanks > 1) else ""
                return str(SolverError(label, f"steady-state solver failed{suffix}: {message}"))
            if kind == kre.FAIL_STEADY_NONFINITE:
                return str(SolverError(label, "steady-state solver returned non-finite concentrations"))
            return str(SolverError(label, "steady state has negative concentrations "
                                          f"(min {num[3]:.3g} mol/m^3)"))
        if kind == kre.FAIL_PHASES:
            return str(InputError("both phases need a flow", source, f"{where}.aqueous"))
        return f"{name}: failed (kind {kind}, status {code})"


def _pfr_geometry(op):
    """Which of volume, length and diameter the route gave for a tube."""
    V, L, d = op.volume, op.length, op.diameter
    if L is None or d is None:
        given = {"volume"}
    elif V == L * np.pi * d ** 2 / 4.0:
        given = {"length", "diameter"}
    elif d == float(np.sqrt(4.0 * (V / L) / np.pi)):
        given = {"volume", "length"}
    else:
        given = {"volume", "diameter"}
    return {"given": given, "volume": V, "length": L, "diameter": d}


def _heat_stoichiometry(compiled, with_T):
    """``(s_ptr, s_sp, kind, reaction, nu)`` of the net stoichiometry with the
    heat row (and with ``with_T`` the temperature row), in the entry order of
    :func:`flowchem.reactors.solver.energy_model`; the heat and T values are
    filled per point by the kernel from the reaction enthalpies."""
    s_ptr, s_sp, s_nu = compiled.model[6], compiled.model[7], compiled.model[8]
    n, m = compiled.n_species, compiled.n_reactions
    dH = compiled.delta_H
    ptr, sp, kind, rx, nu = [0], [], [], [], []
    for j in range(m):
        for a in range(s_ptr[j], s_ptr[j + 1]):
            sp.append(int(s_sp[a]))
            kind.append(0)
            rx.append(j)
            nu.append(float(s_nu[a]))
        if dH[j] != 0.0:
            sp.append(n)
            kind.append(1)
            rx.append(j)
            nu.append(-dH[j])
            if with_T:
                sp.append(n + 1)
                kind.append(2)
                rx.append(j)
                nu.append(-dH[j])
        ptr.append(len(sp))
    return (np.asarray(ptr, dtype=np.int64), np.asarray(sp, dtype=np.int64),
            np.asarray(kind, dtype=np.int64), np.asarray(rx, dtype=np.int64),
            np.asarray(nu, dtype=np.float64))
