"""Test-suite settings: hypothesis draws a fixed sequence of examples, so a
run in CI is reproducible (set HYPOTHESIS_PROFILE=search to explore)."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("search", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --------------------------------------------------------------------------
# Parallel warm-up of the Numba cache.
#
# Most of a cold run is Numba compiling the kernels, one core at a time, while
# the second core of a two-core machine idles. When the whole suite runs, a
# second pytest process runs, in the background, the tests that first compile
# the kernels the main process needs later (the BDF, the explicit method,
# forward sensitivities with energy, the dispersion solver, the fit ensemble,
# the network integrator of dynamic runs, the gas kinetics and gas reactors). Numba caches each
# compiled kernel on disk, so by the time the main process gets there it loads
# it instead of compiling. The warm-up's own results are not looked at: every
# one of those tests also runs, and is judged, in the main process. Set
# FLOWCHEM_TEST_WARMUP=0 to switch it off.
import subprocess
import sys
from pathlib import Path

_WARMUP_TESTS = [
    "tests/test_kernel_network.py::test_mixer_into_cooled_exothermic_tube_matches_scipy_radau",
    "tests/test_kernel_network.py::test_steady_mixer_tube_with_energy_is_the_long_time_limit",
    "tests/test_kernel_network.py::test_backward_euler_displacement_of_a_reacting_tank_is_the_closed_form",
    "tests/test_kernel_network_bdf.py::test_bdf_cstr_tracer_step_is_one_minus_exp",
    "tests/test_energy.py::test_cooled_pfr_temperature_closed_form",
    "tests/test_energy_sensitivity.py::test_adiabatic_first_order_closed_form",
    "tests/test_energy_sensitivity.py::test_dispersion_model_falls_back_to_labelled_differences",
    "tests/test_fit_cli.py::test_alpha_pinene_published_optimum",
    "tests/test_gas_reactors.py::test_constant_volume_batch_matches_cantera",
    "tests/test_gas_reactors.py::test_adiabatic_pfr_matches_cantera_reactor_followed_in_time",
    "tests/test_gas_kinetics.py::test_jacobian_against_finite_differences",
    "tests/test_kernel_integrators.py::test_dopri5_closed_forms_and_dense_output",
    "tests/test_gas_sensitivity.py::test_ignition_delay_sensitivities_match_cantera",
    "tests/test_gas_pfr_friction.py::test_jacobian_against_finite_differences",
]
_warmup_process = None


def _whole_suite(config):
    tests_dir = Path(__file__).resolve().parent
    args = [a for a in config.invocation_params.args if not str(a).startswith("-")]
    return all(Path(a).resolve() in (tests_dir, tests_dir.parent) for a in args
               if Path(a).exists()) and not any("::" in str(a) for a in args)


def pytest_sessionstart(session):
    global _warmup_process
    if os.environ.get("FLOWCHEM_TEST_WARMUP", "1") == "0" or not _whole_suite(session.config):
        return
    root = Path(__file__).resolve().parent.parent
    tests = [t for t in _WARMUP_TESTS if (root / t.split("::")[0]).exists()]
    env = dict(os.environ, FLOWCHEM_TEST_WARMUP="0")
    _warmup_process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *tests],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pytest_sessionfinish(session, exitstatus):
    if _warmup_process is not None and _warmup_process.poll() is None:
        _warmup_process.terminate()
        _warmup_process.wait(timeout=30)
