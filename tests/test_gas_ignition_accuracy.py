"""Ignition delay of the gas batch at tight tolerances, and the Jacobian-only
temperature derivative of K_c, against Cantera.

References: Cantera 3's ``IdealGasConstPressureReactor`` at rtol 1e-12,
atol 1e-20, its ignition delay located on CVODES's own dense output
(``ReactorNet.get_derivative``: the Nordsieck polynomial of each step) as
flowchem's ``ignition_delay`` locates its own, so that the comparison has no
floor from locating a sharp peak on a step grid; Cantera's
``equilibrium_constants`` differentiated by central differences.
"""

import numpy as np
import pytest

ct = pytest.importorskip("cantera")

import flowchem as fc  # noqa: E402
from flowchem.reactors.gas import GasBatchReactor, ignition_delay  # noqa: E402
from cantera_reference import cantera_ignition_delay  # noqa: E402

P_ATM = 101325.0
H2O2_X = "H2:2, O2:1, AR:7"


def _cantera_ignition_dense(T0, t_end, rtol):
    """Cantera's h2o2 ignition delay from T0, located on CVODES's dense output."""
    return cantera_ignition_delay("h2o2.yaml", T0, H2O2_X, t_end, rtol)


@pytest.fixture(scope="module")
def h2o2():
    return fc.Mechanism.from_cantera("h2o2.yaml")


@pytest.mark.parametrize("T0, t_end", [(1000.0, 2e-3), (1500.0, 2e-4)])
def test_bdf_ignition_delay_converges_to_cantera(h2o2, T0, t_end):
    # measured |error| at rtol 1e-9: 1.4e-8 (1000 K), 7.9e-9 (1500 K); at
    # rtol 1e-6: 2-4e-6. Bounds: 5x the measured values, and the tolerance
    # ordering (a tighter rtol is closer), which a floor in either the
    # reference or the dense-output location would break
    tau_ref = _cantera_ignition_dense(T0, t_end, 1e-12)
    errors = {}
    for rtol in (1e-6, 1e-9):
        res = GasBatchReactor(h2o2, T=T0, P=P_ATM, X=H2O2_X,
                              options={"rtol": rtol, "method": "bdf"}).run(t_end)
        errors[rtol] = abs(ignition_delay(res) / tau_ref - 1.0)
    assert errors[1e-9] < 7e-8
    assert errors[1e-6] < 2e-5
    assert errors[1e-9] < errors[1e-6] / 30.0


def test_jacobian_fills_the_temperature_derivative_of_kc_after_a_cached_rhs():
    # the right-hand side no longer computes d ln K_c / dT; the Jacobian does,
    # also when the temperature part is cached from a right-hand side at the
    # same T. Reference: central differences of Cantera's K_c (kmol units
    # cancel in d ln K_c / dT); |d ln Kc/dT| is ~1e-2..1 /K, differences
    # accurate to ~1e-9 relative at dT = 1e-2 K
    from kernels.gas_kinetics import (DLNKC_DT, gas_jacobian, gas_production_rates,
                                      gas_workspace)

    gas = ct.Solution("gri30.yaml")
    gk = fc.Mechanism.from_cantera("gri30.yaml").gas_kinetics
    n, m = gk.n_species, gk.n_reactions
    T, P = 1400.0, 2.0 * P_ATM
    gas.TPX = T, P, "CH4:1, O2:2, N2:7.52, OH:0.01, H:0.01"
    c = gas.concentrations * 1e3
    work = gas_workspace(n, m)
    wdot = np.empty(n)
    gas_production_rates(T, P, c, gk.model, work, wdot)      # caches the T part
    J = np.empty((n, n))
    dwdT = np.empty(n)
    gas_jacobian(T, P, c, gk.model, work, wdot, J, dwdT)
    dT = 1e-2
    lnK = []
    for Tx in (T + dT, T - dT):
        gas.TP = Tx, P
        lnK.append(np.log(gas.equilibrium_constants))
    ref = (lnK[0] - lnK[1]) / (2.0 * dT)
    np.testing.assert_allclose(work[0][DLNKC_DT], ref, rtol=1e-6, atol=1e-9)
