"""Ignition delay of a hydrogen-oxygen-argon mixture and the reactions that
control it, on Cantera's h2o2.yaml.

Run:  python examples/hydrogen/ignition.py
"""
import numpy as np

import flowchem as fc

# Every reaction of the Cantera file, rates and thermodynamics, in flowchem's kernel.
mechanism = fc.Mechanism.from_cantera("h2o2.yaml")

# A constant-pressure adiabatic batch (Cantera's IdealGasConstPressureReactor).
for T0 in (1000.0, 1100.0, 1200.0):
    reactor = fc.GasBatchReactor(mechanism, T=f"{T0} K", P="1 atm",
                                 X={"H2": 2, "O2": 1, "AR": 7})
    result = reactor.run("2 ms")
    # defined as in Cantera's examples: the time of the largest dT/dt
    tau = fc.ignition_delay(result)
    print(f"T0 = {T0:.0f} K: ignition delay {tau * 1e6:8.1f} us, "
          f"final T {result.T[-1]:.0f} K, element closure {result.element_error():.1e}")

# Which rate constants set the delay at 1100 K: d ln(tau) / d ln(k_j), ranked.
reactor = fc.GasBatchReactor(mechanism, T="1100 K", P="1 atm", X={"H2": 2, "O2": 1, "AR": 7})
sens = fc.reaction_sensitivities(reactor, "ignition_delay", t_end="2 ms")
print(sens.table(6))
