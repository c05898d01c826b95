"""Single-phase hydraulics and heat transfer of liquid flow in tubes and coils.

Pure functions on SI floats (m, m^3/s, kg/m^3, Pa s, W/(m K)); nothing here parses
units. Bad arguments (non-finite, non-positive where a positive value is needed)
raise :class:`~flowchem.errors.InputError` naming the argument.

Conventions
-----------
* ``diameter`` is the tube's inner diameter ``d``; ``coil_diameter`` the coil's
  mean diameter ``D_c`` (centre line to centre line), for helically coiled tubes
  of small pitch (torsion neglected). For a coil of pitch ``h`` and winding
  diameter ``D_w`` the VDI Heat Atlas (ch. G, helically coiled tubes) uses the
  curvature diameter ``D_c = D_w (1 + (h / (pi D_w))^2)``; pass that to include
  the pitch.
* Reynolds ``Re = rho v d / mu``; Dean ``De = Re sqrt(d / D_c)``.
* Friction factors are **Darcy** factors (4x the Fanning factor):
  ``dP = f (L/d) rho v^2 / 2``.

Flow regimes
------------
* Straight tube: laminar for ``Re <= 2300``, ``f = 64/Re`` and the pressure drop
  is Hagen-Poiseuille. Turbulent for ``Re >= 4000``: Colebrook-White, solved to
  machine precision by Newton's method. In ``2300 < Re < 4000`` f is interpolated
  linearly in Re between 64/2300 and Colebrook at 4000, so f(Re) is continuous
  (it jumps up with Re, as the transition does). ``method="churchill"``
  replaces all of this with Churchill's (1977) single equation.
* Coiled tube: the secondary (Dean) flow delays transition; the critical Reynolds
  number of Schmidt (1967), ``Re_crit = 2300 (1 + 8.6 (d/D_c)^0.45)``, separates
  the laminar correlation of Mishra & Gupta (1979),
  ``f_c/f_s = 1 + 0.033 (log10 De)^4`` for ``De > 1`` (1 below), from their
  turbulent one, ``f_c = f_s + 0.03 sqrt(d/D_c)`` (Darcy; 0.0075 in Fanning
  form). The laminar factor is applied from De = 1 on, where it is exactly 1 with
  zero slope, rather than from Dean's classical threshold De = 11.6 where it is
  already 1.042: a threshold would make dP jump by 4 %.

References
----------
Churchill, S. W. (1977). Friction-factor equation spans all fluid-flow regimes.
    Chem. Eng. 84(24), 91-92.
Colebrook, C. F. (1939). Turbulent flow in pipes... J. Inst. Civ. Eng. 11, 133-156.
Dean, W. R. (1928). The stream-line motion of fluid in a curved pipe.
    Phil. Mag. 5, 673-695.
Hausen, H. (1943). Darstellung des Wärmeüberganges in Rohren durch
    verallgemeinerte Potenzbeziehungen. Z. VDI Beih. Verfahrenstech. 4, 91-98.
Incropera, F. P., DeWitt, D. P. et al. Fundamentals of Heat and Mass Transfer,
    ch. 8 (Nu = 3.66; Hausen's entrance-region equation 8.57).
Gnielinski, V. Heat transfer and pressure drop in helically coiled tubes.
    VDI Heat Atlas, ch. G (Mishra-Gupta friction factors, coil curvature diameter).
Manlapaz, R. L., Churchill, S. W. (1981). Fully developed laminar convection
    from a helical coil. Chem. Eng. Commun. 9, 185-200.
    doi:10.1080/00986448108911023
Mishra, P., Gupta, S. N. (1979). Momentum transfer in curved pipes. 1. Newtonian
    fluids. Ind. Eng. Chem. Process Des. Dev. 18, 130-137. doi:10.1021/i260069a017
Schmidt, E. F. (1967). Wärmeübergang und Druckverlust in Rohrschlangen.
    Chem. Ing. Tech. 39, 781-789.

Verification
------------
The formulas and constants were checked against independent published
implementations (tests/test_hydraulics.py holds the reference values and names
the source of each): Colebrook-White, Churchill (1977), Schmidt's critical
Reynolds number, the Dean number and Hausen's equation against the ``fluids``
1.3.1 / ``ht`` 1.2.0 packages (C. Bell), which agree to rounding;
Manlapaz-Churchill and Mishra-Gupta, which those packages do not implement,
against the formulas printed in pychemqt's helical-coil module and in the
VDI Heat Atlas (as implemented in the Modelica FluidDissipation library).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

from ..core.errors import InputError

__all__ = [
    "LAMINAR_RE", "TURBULENT_RE", "DEAN_CRITICAL", "NU_LAMINAR_WALL_T",
    "mean_velocity", "reynolds", "dean", "prandtl", "area_per_volume",
    "critical_reynolds", "colebrook_friction_factor", "churchill_friction_factor",
    "darcy_friction_factor", "curved_laminar_factor", "coil_friction_factor",
    "hagen_poiseuille", "pressure_drop", "PressureDrop",
    "hausen_nusselt", "manlapaz_churchill_nusselt", "laminar_nusselt",
    "overall_heat_transfer_coefficient", "laminar_heat_transfer", "HeatTransfer",
]

#: Upper Reynolds number of laminar flow in a straight tube.
LAMINAR_RE = 2300.0
#: Lower Reynolds number of fully turbulent flow in a straight tube.
TURBULENT_RE = 4000.0
#: Dean's number above which secondary flow visibly matters (Dean 1928).
DEAN_CRITICAL = 11.6
#: Nusselt number of fully developed laminar flow, constant wall temperature.
NU_LAMINAR_WALL_T = 3.66

_LN10 = math.log(10.0)


def _check(name, value, *, positive=True, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"expected a number, got {value!r}", "<python>", name)
    x = float(value)
    if not math.isfinite(x):
        raise InputError(f"expected a finite number, got {value!r}", "<python>", name)
    if positive and not (x > 0 or (allow_zero and x == 0)):
        raise InputError(f"must be {'non-negative' if allow_zero else 'positive'}, got {value!r}",
                         "<python>", name)
    return x


# --------------------------------------------------------------- dimensionless groups
def mean_velocity(flow: float, diameter: float) -> float:
    """Mean (bulk) velocity in a round tube, ``v = 4 Q / (pi d^2)``, m/s.

    Parameters
    ----------
    flow : float
        Volumetric flow Q, m^3/s (>= 0).
    diameter : float
        Inner diameter d, m.
    """
    q = _check("flow", flow, allow_zero=True)
    d = _check("diameter", diameter)
    return 4.0 * q / (math.pi * d * d)


def reynolds(density: float, velocity: float, diameter: float, viscosity: float) -> float:
    """Reynolds number ``Re = rho v d / mu``."""
    rho = _check("density", density)
    v = _check("velocity", velocity, allow_zero=True)
    d = _check("diameter", diameter)
    mu = _check("viscosity", viscosity)
    return rho * v * d / mu


def dean(Re: float, diameter: float, coil_diameter: float) -> float:
    """Dean number ``De = Re sqrt(d / D_c)`` (Dean 1928, in the modern form).

    Parameters
    ----------
    Re : float
        Reynolds number.
    diameter : float
        Tube inner diameter d, m.
    coil_diameter : float
        Mean coil diameter D_c, m (must exceed d).
    """
    Re = _check("Re", Re, allow_zero=True)
    d = _check("diameter", diameter)
    Dc = _check("coil_diameter", coil_diameter)
    if Dc <= d:
        raise InputError(f"must exceed the tube diameter {d!r}, got {coil_diameter!r}",
                         "<python>", "coil_diameter")
    return Re * math.sqrt(d / Dc)


def prandtl(heat_capacity: float, viscosity: float, thermal_conductivity: float) -> float:
    """Prandtl number ``Pr = cp mu / k``."""
    return (_check("heat_capacity", heat_capacity) * _check("viscosity", viscosity)
            / _check("thermal_conductivity", thermal_conductivity))


def area_per_volume(diameter: float) -> float:
    """Wall area per volume of a round tube, ``a = 4/d``, 1/m."""
    return 4.0 / _check("diameter", diameter)


def critical_reynolds(diameter: float, coil_diameter: float | None = None) -> float:
    """Reynolds number of laminar-turbulent transition.

    ``2300`` in a straight tube; in a coil Schmidt's (1967) correlation
    ``Re_crit = 2300 (1 + 8.6 (d/D_c)^0.45)`` (for ``D_c/d`` up to about 1000).
    """
    d = _check("diameter", diameter)
    if coil_diameter is None:
        return LAMINAR_RE
    Dc = _check("coil_diameter", coil_diameter)
    return LAMINAR_RE * (1.0 + 8.6 * (d / Dc) ** 0.45)


# ------------------------------------------------------------------- friction factors
def colebrook_friction_factor(Re: float, relative_roughness: float = 0.0) -> float:
    """Darcy friction factor from the Colebrook-White equation, solved exactly.

    ``1/sqrt(f) = -2 log10( (e/d)/3.7 + 2.51 / (Re sqrt(f)) )``

    (Colebrook 1939, in its usual form with 3.7 and 2.51.) Newton's method on
    ``x = 1/sqrt(f)`` from Haaland's (1983) explicit approximation; it
    converges quadratically (the residual of the implicit equation is at
    rounding level, below 1e-12, after 3-5 iterations). Only meaningful for
    turbulent flow, Re >~ 4000.
    """
    Re = _check("Re", Re)
    eps = _check("relative_roughness", relative_roughness, allow_zero=True)
    a = eps / 3.7
    b = 2.51 / Re
    # Haaland (1983) starting point
    x = -1.8 * math.log10((eps / 3.7) ** 1.11 + 6.9 / Re)
    if not x > 0:
        x = 1.0
    for _ in range(50):
        arg = a + b * x
        g = x + 2.0 * math.log10(arg)
        dg = 1.0 + 2.0 * b / (_LN10 * arg)
        step = g / dg
        x -= step
        if abs(step) <= 4e-16 * abs(x):
            break
    else:  # pragma: no cover - Newton on this convex function always converges
        raise ArithmeticError(f"Colebrook iteration did not converge at Re={Re}, e/d={eps}")
    return 1.0 / (x * x)


def churchill_friction_factor(Re: float, relative_roughness: float = 0.0) -> float:
    """Darcy friction factor of Churchill (1977), one equation for all regimes.

    ``f = 8 [ (8/Re)^12 + (A + B)^-1.5 ]^(1/12)`` with
    ``A = (2.457 ln(1 / ((7/Re)^0.9 + 0.27 e/d)))^16`` and ``B = (37530/Re)^16``.
    Tends to 64/Re in laminar flow and to Colebrook (within about 3 % for Re >= 1e4) in
    turbulent flow, with a smooth interpolation across transition.
    """
    Re = _check("Re", Re)
    eps = _check("relative_roughness", relative_roughness, allow_zero=True)
    A = (2.457 * math.log(1.0 / ((7.0 / Re) ** 0.9 + 0.27 * eps))) ** 16
    B = (37530.0 / Re) ** 16
    return 8.0 * ((8.0 / Re) ** 12 + (A + B) ** -1.5) ** (1.0 / 12.0)


def darcy_friction_factor(Re: float, relative_roughness: float = 0.0,
                          method: str = "colebrook") -> float:
    """Darcy friction factor of fully developed flow in a straight round tube.

    Parameters
    ----------
    Re : float
        Reynolds number (> 0).
    relative_roughness : float
        Wall roughness over diameter, e/d (>= 0).
    method : {"colebrook", "churchill"}
        ``"colebrook"`` (default): ``64/Re`` for ``Re <= 2300``; Colebrook-White,
        solved exactly, for ``Re >= 4000``; linear interpolation in Re between
        the two in the transition. ``"churchill"``: Churchill (1977) throughout.

    Returns
    -------
    float
        Darcy friction factor f (``dP = f L/d rho v^2/2``).
    """
    if method == "churchill":
        return churchill_friction_factor(Re, relative_roughness)
    if method != "colebrook":
        raise InputError(f"unknown method {method!r} (expected 'colebrook' or 'churchill')",
                         "<python>", "method")
    Re = _check("Re", Re)
    eps = _check("relative_roughness", relative_roughness, allow_zero=True)
    if Re <= LAMINAR_RE:
        return 64.0 / Re
    if Re >= TURBULENT_RE:
        return colebrook_friction_factor(Re, eps)
    f_lam = 64.0 / LAMINAR_RE
    f_turb = colebrook_friction_factor(TURBULENT_RE, eps)
    s = (Re - LAMINAR_RE) / (TURBULENT_RE - LAMINAR_RE)
    return f_lam + s * (f_turb - f_lam)


def curved_laminar_factor(De: float) -> float:
    """Ratio f_curved / f_straight in laminar coil flow (Mishra & Gupta 1979).

    ``f_c / f_s = 1 + 0.033 (log10 De)^4`` for ``De > 1``, and 1 for
    ``De <= 1`` (continuous with zero slope at De = 1; 1.042 at De = 11.6),
    with ``De = Re sqrt(d/D_c)``. This is Mishra & Gupta's laminar correlation
    as given, with the same ``De > 1`` lower bound, in the VDI Heat Atlas
    (ch. G, helically coiled tubes). Outside the range of Dean numbers the
    correlation was fitted to (up to a few thousand) it is an extrapolation.
    """
    De = _check("De", De, allow_zero=True)
    if De <= 1.0:
        return 1.0
    return 1.0 + 0.033 * math.log10(De) ** 4


def coil_friction_factor(Re: float, diameter: float, coil_diameter: float,
                         relative_roughness: float = 0.0) -> tuple[float, float, str]:
    """Darcy friction factor in a helical coil.

    Returns ``(f, f_straight, regime)``: laminar below
    :func:`critical_reynolds` with ``f = 64/Re * curved_laminar_factor(De)``;
    above it turbulent with Mishra & Gupta's (1979) ``f_c - f_s =
    0.0075 sqrt(d/D_c)`` in Fanning form, i.e. ``f = f_s + 0.03 sqrt(d/D_c)``
    in Darcy form. The VDI Heat Atlas writes the same correlation as
    ``0.3164 Re^-0.25 (1 + 0.095 sqrt(d/D_c) Re^0.25)`` (0.3164 * 0.095 =
    0.0301, the constant rounded), i.e. with Blasius' smooth-tube f_s; here
    f_s is Colebrook-White (with the wall roughness), which for a smooth tube
    puts f within 3 % of that form for 4500 <= Re <= 1e5. The correlation was
    fitted to smooth tubes (4500 < Re < 1e5 is the range usually quoted).
    The two branches meet within a few percent at Re_crit.
    """
    Re = _check("Re", Re)
    De = dean(Re, diameter, coil_diameter)
    if Re < critical_reynolds(diameter, coil_diameter):
        fs = 64.0 / Re
        return fs * curved_laminar_factor(De), fs, "laminar"
    fs = colebrook_friction_factor(Re, relative_roughness)
    return fs + 0.03 * math.sqrt(diameter / coil_diameter), fs, "turbulent"


# --------------------------------------------------------------------- pressure drop
def hagen_poiseuille(flow: float, length: float, diameter: float, viscosity: float) -> float:
    """Laminar pressure drop in a straight round tube, ``128 mu L Q / (pi d^4)``, Pa."""
    q = _check("flow", flow, allow_zero=True)
    L = _check("length", length, allow_zero=True)
    d = _check("diameter", diameter)
    mu = _check("viscosity", viscosity)
    return 128.0 * mu * L * q / (math.pi * d ** 4)


@dataclass(frozen=True)
class PressureDrop:
    """Result of :func:`pressure_drop` (SI, Darcy friction factors).

    Attributes
    ----------
    pressure_drop_Pa : float
    velocity_m_per_s : float
        Mean velocity.
    Re : float
    Dean : float or None
        Dean number (None in a straight tube).
    friction_factor : float
        Darcy factor used, including the curvature effect.
    friction_factor_straight : float
        Darcy factor of the same flow in a straight tube.
    curvature_factor : float
        ``friction_factor / friction_factor_straight`` (1 in a straight tube).
    regime : str
        ``"laminar"``, ``"transitional"`` or ``"turbulent"``.
    critical_Re : float
        Transition Reynolds number used (2300, or Schmidt's for coils).
    correlation : str
        Which equations gave f.
    """

    pressure_drop_Pa: float
    velocity_m_per_s: float
    Re: float
    Dean: float | None
    friction_factor: float
    friction_factor_straight: float
    curvature_factor: float
    regime: str
    critical_Re: float
    correlation: str

    def to_dict(self) -> dict:
        return asdict(self)


def pressure_drop(flow: float, length: float, diameter: float, density: float,
                  viscosity: float, roughness: float = 0.0,
                  coil_diameter: float | None = None,
                  method: str = "colebrook") -> PressureDrop:
    """Frictional pressure drop of an incompressible liquid in a round tube or coil.

    Parameters
    ----------
    flow : float
        Volumetric flow, m^3/s (> 0).
    length : float
        Tube length along its axis, m.
    diameter : float
        Inner diameter, m.
    density : float
        kg/m^3.
    viscosity : float
        Dynamic viscosity, Pa s.
    roughness : float
        Absolute wall roughness, m (0: hydraulically smooth, the usual
        assumption for PFA/PTFE and drawn steel capillaries).
    coil_diameter : float, optional
        Mean coil diameter for a helically coiled tube; None for a straight one.
    method : {"colebrook", "churchill"}
        Straight-tube friction factor (see :func:`darcy_friction_factor`).

    Returns
    -------
    PressureDrop
        Straight laminar tubes use Hagen-Poiseuille, ``128 mu L Q/(pi d^4)``
        (identical to ``f = 64/Re`` in Darcy-Weisbach). Otherwise
        ``dP = f (L/d) rho v^2 / 2`` with f from :func:`darcy_friction_factor`
        or, in coils, :func:`coil_friction_factor` (Mishra & Gupta 1979).
        Entrance, fitting and hydrostatic losses are not included.
    """
    q = _check("flow", flow)
    L = _check("length", length, allow_zero=True)
    d = _check("diameter", diameter)
    rho = _check("density", density)
    mu = _check("viscosity", viscosity)
    eps = _check("roughness", roughness, allow_zero=True) / d
    v = mean_velocity(q, d)
    Re = rho * v * d / mu
    if coil_diameter is None:
        Re_c = LAMINAR_RE
        if method == "churchill":
            f = churchill_friction_factor(Re, eps)
            regime = "laminar" if Re <= LAMINAR_RE else ("turbulent" if Re >= TURBULENT_RE else "transitional")
            dp = f * L / d * rho * v * v / 2.0
            return PressureDrop(dp, v, Re, None, f, f, 1.0, regime, Re_c, "Churchill (1977)")
        f = darcy_friction_factor(Re, eps, method)
        if Re <= LAMINAR_RE:
            dp = hagen_poiseuille(q, L, d, mu)
            return PressureDrop(dp, v, Re, None, f, f, 1.0, "laminar", Re_c, "Hagen-Poiseuille (f = 64/Re)")
        regime = "turbulent" if Re >= TURBULENT_RE else "transitional"
        corr = ("Colebrook-White" if regime == "turbulent" else
                "linear in Re between 64/Re at 2300 and Colebrook-White at 4000")
        dp = f * L / d * rho * v * v / 2.0
        return PressureDrop(dp, v, Re, None, f, f, 1.0, regime, Re_c, corr)
    if method != "colebrook":
        raise InputError("coils use Mishra & Gupta (1979); method must be 'colebrook'",
                         "<python>", "method")
    De = dean(Re, d, coil_diameter)
    Re_c = critical_reynolds(d, coil_diameter)
    f, fs, regime = coil_friction_factor(Re, d, coil_diameter, eps)
    corr = ("Mishra-Gupta laminar: f = 64/Re (1 + 0.033 (log10 De)^4)" if regime == "laminar"
            else "Mishra-Gupta turbulent: f = f_Colebrook + 0.03 sqrt(d/Dc)")
    dp = f * L / d * rho * v * v / 2.0
    return PressureDrop(dp, v, Re, De, f, fs, f / fs, regime, Re_c, corr)


# --------------------------------------------------------------------- heat transfer
def hausen_nusselt(Gz: float) -> float:
    """Mean Nusselt number over a thermal entrance length, constant wall
    temperature, laminar hydrodynamically developed flow (Hausen 1943):

    ``Nu = 3.66 + 0.0668 Gz / (1 + 0.04 Gz^(2/3))``, ``Gz = Re Pr d / L``

    (Incropera et al., eq. 8.57; identical to ``ht.conv_internal.
    laminar_entry_thermal_Hausen``). Tends to 3.66 for long tubes (Gz -> 0).
    For Pr >~ 5 it also applies to a developing velocity profile.
    """
    Gz = _check("Gz", Gz, allow_zero=True)
    return NU_LAMINAR_WALL_T + 0.0668 * Gz / (1.0 + 0.04 * Gz ** (2.0 / 3.0))


def manlapaz_churchill_nusselt(De: float, Pr: float) -> float:
    """Fully developed laminar Nusselt number in a helical coil, uniform wall
    temperature (Manlapaz & Churchill 1981, their correlation for uniform wall
    temperature, eq. 39 as cited by pychemqt):

    ``Nu = [ (3.657 + 4.343/x1)^3 + 1.158 (De/x2)^1.5 ]^(1/3)`` with
    ``x1 = (1 + 957/(De^2 Pr))^2`` and ``x2 = 1 + 0.477/Pr``.

    Tends to the straight-tube 3.657 as De -> 0. The paper writes it in the
    helical number He, which tends to De as the pitch goes to 0 (the small
    pitches assumed here). (Its companion for uniform heat flux, with
    4.364, 4.636, 1342, 1.816 and 1.15, is not used: flowchem's wall is at the
    bath temperature.)
    """
    De = _check("De", De, allow_zero=True)
    Pr = _check("Pr", Pr)
    if De == 0.0:
        return 3.657
    x1 = (1.0 + 957.0 / (De * De * Pr)) ** 2
    x2 = 1.0 + 0.477 / Pr
    return ((3.657 + 4.343 / x1) ** 3 + 1.158 * (De / x2) ** 1.5) ** (1.0 / 3.0)


def laminar_nusselt(Re: float, Pr: float, diameter: float, length: float | None = None,
                    coil_diameter: float | None = None) -> tuple[float, str]:
    """Mean Nusselt number of laminar flow with constant wall temperature.

    Straight tube: 3.66 (fully developed), or Hausen's entrance-region equation
    when ``length`` is given. Coil: Manlapaz-Churchill (fully developed, Dean
    enhancement); with ``length`` also given, the larger of that and Hausen's
    value (whichever effect -- thermal entrance or secondary flow -- dominates).

    Returns ``(Nu, correlation)``.
    """
    Re = _check("Re", Re, allow_zero=True)
    Pr = _check("Pr", Pr)
    d = _check("diameter", diameter)
    nu, corr = NU_LAMINAR_WALL_T, "fully developed, Nu = 3.66"
    if length is not None:
        L = _check("length", length)
        nu, corr = hausen_nusselt(Re * Pr * d / L), "Hausen (1943) entrance region"
    if coil_diameter is not None:
        nu_c = manlapaz_churchill_nusselt(dean(Re, d, coil_diameter), Pr)
        if nu_c >= nu:
            nu, corr = nu_c, "Manlapaz-Churchill (1981) coil"
    return nu, corr


def overall_heat_transfer_coefficient(h_inner: float, diameter: float,
                                      wall_thickness: float = 0.0,
                                      wall_conductivity: float | None = None,
                                      h_outer: float | None = None) -> float:
    """Overall coefficient U referred to the **inner** wall area, W/(m^2 K).

    ``1/U = 1/h_i + r_i ln(r_o/r_i)/k_w + (r_i/r_o)/h_o`` with ``r_i = d/2``,
    ``r_o = r_i + wall_thickness``: inner film, cylindrical wall conduction and
    outer film in series (fouling neglected). A term is left out when its data
    are not given (``wall_conductivity`` None or ``wall_thickness`` 0: no wall
    resistance; ``h_outer`` None: outer side at the wall temperature).
    """
    hi = _check("h_inner", h_inner)
    d = _check("diameter", diameter)
    t = _check("wall_thickness", wall_thickness, allow_zero=True)
    ri = d / 2.0
    ro = ri + t
    r = 1.0 / hi
    if wall_conductivity is not None and t > 0:
        kw = _check("wall_conductivity", wall_conductivity)
        r += ri * math.log(ro / ri) / kw
    if h_outer is not None:
        ho = _check("h_outer", h_outer)
        r += (ri / ro) / ho
    return 1.0 / r


@dataclass(frozen=True)
class HeatTransfer:
    """Result of :func:`laminar_heat_transfer` (SI).

    ``U_W_per_m2_K`` is referred to the inner wall area, so ``U * area_per_volume``
    (W/(m^3 K)) is the heat-exchange capacity per reactor volume,
    ``a_per_m = 4/d``.
    """

    U_W_per_m2_K: float
    h_inner_W_per_m2_K: float
    Nu: float
    Re: float
    Pr: float
    Dean: float | None
    Graetz: float | None
    a_per_m: float
    UA_per_volume_W_per_m3_K: float
    correlation: str

    def to_dict(self) -> dict:
        return asdict(self)


def laminar_heat_transfer(flow: float, diameter: float, density: float, viscosity: float,
                          heat_capacity: float, thermal_conductivity: float,
                          length: float | None = None, coil_diameter: float | None = None,
                          wall_thickness: float = 0.0, wall_conductivity: float | None = None,
                          h_outer: float | None = None) -> HeatTransfer:
    """Heat-transfer coefficients of laminar liquid flow in a tube or coil.

    Parameters
    ----------
    flow, diameter, density, viscosity : float
        As for :func:`pressure_drop`.
    heat_capacity : float
        cp, J/(kg K).
    thermal_conductivity : float
        Liquid conductivity k, W/(m K).
    length : float, optional
        Heated length; gives the entrance-region (Hausen) enhancement.
        None: fully developed (Nu = 3.66, conservative).
    coil_diameter : float, optional
        Mean coil diameter; gives the Dean enhancement (Manlapaz-Churchill).
    wall_thickness, wall_conductivity : float, optional
        Tube wall, m and W/(m K) (e.g. PFA about 0.2, stainless steel about 16).
    h_outer : float, optional
        Outside film coefficient (bath, jacket), W/(m^2 K).

    Returns
    -------
    HeatTransfer
        ``h = Nu k / d``; U from :func:`overall_heat_transfer_coefficient`.

    Raises
    ------
    InputError
        If the flow is not laminar (Re at or above :func:`critical_reynolds`):
        these correlations do not apply there.
    """
    q = _check("flow", flow, allow_zero=True)
    d = _check("diameter", diameter)
    rho = _check("density", density)
    mu = _check("viscosity", viscosity)
    k = _check("thermal_conductivity", thermal_conductivity)
    Pr = prandtl(heat_capacity, mu, k)
    Re = rho * mean_velocity(q, d) * d / mu
    Re_c = critical_reynolds(d, coil_diameter)
    if Re >= Re_c:
        raise InputError(f"laminar heat-transfer correlations do not apply at Re = {Re:.4g} "
                         f"(transition at Re = {Re_c:.4g})", "<python>", "flow")
    nu, corr = laminar_nusselt(Re, Pr, d, length, coil_diameter)
    h = nu * k / d
    U = overall_heat_transfer_coefficient(h, d, wall_thickness, wall_conductivity, h_outer)
    De = dean(Re, d, coil_diameter) if coil_diameter is not None else None
    Gz = Re * Pr * d / length if length is not None else None
    a = 4.0 / d
    return HeatTransfer(U, h, nu, Re, Pr, De, Gz, a, U * a, corr)
