"""flowchem.core.units: every kind to SI against hand-computed conversions."""

import pytest

from flowchem.core.errors import InputError, Location
from flowchem.core.units import (
    GAS_CONSTANT,
    parse_equilibrium_constant,
    parse_quantity,
    parse_rate_constant,
    parse_units_block,
)

REL = 1e-12  # pint's conversion factors carry a few ulp of rounding


@pytest.mark.parametrize(
    "value, kind, expected",
    [
        ("1.1 mol/L", "concentration", 1100.0),
        ("250 mmol/L", "concentration", 250.0),
        ("2 M", "concentration", 2000.0),
        ("2 min", "time", 120.0),
        ("1.5 h", "time", 5400.0),
        ("2 mL", "volume", 2e-6),
        ("3 L", "volume", 3e-3),
        ("0.5 mL/min", "flow", 0.5e-6 / 60),
        ("30 cm", "length", 0.3),
        ("1 inch", "length", 0.0254),
        ("3 bar", "pressure", 3e5),
        ("1 atm", "pressure", 101325.0),
        ("300 K", "temperature", 300.0),
        ("60 degC", "temperature", 333.15),
        ("212 degF", "temperature", 373.15),
        ("-40 degF", "temperature", 233.15),
        ("45 kJ/mol", "activation-energy", 45000.0),
        ("10 kcal/mol", "activation_energy", 41840.0),
        ("-85 kJ/mol", "energy", -85000.0),
        ("105.5 g/mol", "molar_mass", 0.1055),
        ("2 g/min", "mass_flow", 2e-3 / 60),
        ("0.9 g/mL", "density", 900.0),
        ("2.1 kJ/kg/K", "heat_capacity", 2100.0),
        ("4.2 kJ/kg/degC", "heat_capacity", 4200.0),  # degC in a compound is a difference
        ("1 cP", "viscosity", 1e-3),
        ("1 mPa*s", "viscosity", 1e-3),
        ("5 percent", "dimensionless", 0.05),
        (0.25, "dimensionless", 0.25),
        (7, "time", 7.0),  # SI where no units block
        ("7", "time", 7.0),  # number-only string = plain number
        ("2.0e-3 m^3", "volume", 2e-3),
    ],
)
def test_each_kind_to_si(value, kind, expected):
    assert parse_quantity(value, kind) == pytest.approx(expected, rel=REL)


def test_plain_numbers_use_units_block():
    units = parse_units_block({"concentration": "mol/L", "time": "min", "volume": "mL",
                               "flow": "mL/min", "length": "mm", "pressure": "bar",
                               "temperature": "degC", "activation-energy": "kJ/mol",
                               "energy": "kcal/mol"})
    assert parse_quantity(1.1, "concentration", units) == pytest.approx(1100.0, rel=REL)
    assert parse_quantity(2, "time", units) == pytest.approx(120.0, rel=REL)
    assert parse_quantity(2, "volume", units) == pytest.approx(2e-6, rel=REL)
    assert parse_quantity(0.5, "flow", units) == pytest.approx(0.5e-6 / 60, rel=REL)
    assert parse_quantity(4, "length", units) == pytest.approx(4e-3, rel=REL)
    assert parse_quantity(3, "pressure", units) == pytest.approx(3e5, rel=REL)
    assert parse_quantity(60, "temperature", units) == pytest.approx(333.15, rel=REL)  # degC, not delta
    assert parse_quantity(45, "activation-energy", units) == pytest.approx(45000.0, rel=REL)
    assert parse_quantity(-2, "energy", units) == pytest.approx(-8368.0, rel=REL)
    # strings still carry their own unit
    assert parse_quantity("300 K", "temperature", units) == pytest.approx(300.0, rel=REL)
    # kinds the block cannot name stay SI
    assert parse_quantity(0.1, "molar_mass", units) == 0.1


def test_degf_block():
    units = parse_units_block({"temperature": "degF"})
    assert parse_quantity(32, "temperature", units) == pytest.approx(273.15, rel=REL)


@pytest.mark.parametrize(
    "value, order, expected",
    [
        ("0.5 mol/L/s", 0, 500.0),
        ("0.5 mol/m^3/s", 0, 0.5),
        ("0.5 1/s", 1, 0.5),
        ("3 1/min", 1, 0.05),
        ("0.5 L/mol/s", 2, 5e-4),
        ("0.5 L/(mol*min)", 2, 0.5e-3 / 60),
        ("2 (L/mol)^0.5/s", 1.5, 2 * 1e-3 ** 0.5),
        ("1 L^2/mol^2/s", 3, 1e-6),
    ],
)
def test_rate_constant_strings(value, order, expected):
    assert parse_rate_constant(value, order) == pytest.approx(expected, rel=REL)


@pytest.mark.parametrize("order, expected", [(0, 2 * 1000 / 60), (1, 2 / 60), (1.5, 2 * 1000 ** -0.5 / 60), (2, 2e-3 / 60)])
def test_rate_constant_plain_number_in_block_units(order, expected):
    units = {"concentration": "mol/L", "time": "min"}
    assert parse_rate_constant(2, order, units) == pytest.approx(expected, rel=REL)


def test_rate_constant_plain_si():
    assert parse_rate_constant(2.5, 2) == 2.5


def test_rate_constant_wrong_dimension():
    with pytest.raises(InputError) as err:
        parse_rate_constant("0.5 L/mol/s", 1, None, Location("m.yaml", "reactions[0].rate.k"))
    assert str(err.value).startswith("m.yaml: reactions[0].rate.k: expected a rate constant in 1/time")
    assert "'0.5 L/mol/s'" in str(err.value)


def test_equilibrium_constant_units():
    assert parse_equilibrium_constant("4 mol/L", 1) == pytest.approx(4000.0, rel=REL)
    assert parse_equilibrium_constant("4 L/mol", -1) == pytest.approx(4e-3, rel=REL)
    assert parse_equilibrium_constant(4.0, -1, {"concentration": "mol/L"}) == pytest.approx(4e-3, rel=REL)
    assert parse_equilibrium_constant(4.0, 0, {"concentration": "mol/L"}) == 4.0
    with pytest.raises(InputError, match="expected an equilibrium constant"):
        parse_equilibrium_constant("4 mol/L", -1)
    with pytest.raises(InputError, match="must be positive"):
        parse_equilibrium_constant(0.0, 0)


def test_gas_constant_codata():
    assert GAS_CONSTANT == 8.314462618


@pytest.mark.parametrize(
    "value, kind, message",
    [
        ("5 parsecs", "volume", "route.yaml: operations[1].volume: expected a volume, got '5 parsecs'"),
        ("5 foo", "volume", "route.yaml: operations[1].volume: expected a volume, got '5 foo' (unknown unit 'foo')"),
        ("fast", "time", "route.yaml: operations[1].volume: expected a time, got 'fast' (write '<number> <unit>')"),
        (float("nan"), "time", "route.yaml: operations[1].volume: expected a finite number, got nan"),
        (float("inf"), "time", "route.yaml: operations[1].volume: expected a finite number, got inf"),
        (True, "time", "route.yaml: operations[1].volume: expected a number or a '<number> <unit>' string, got True"),
        (None, "time", "route.yaml: operations[1].volume: expected a number or a '<number> <unit>' string, got None"),
        ([1], "time", "route.yaml: operations[1].volume: expected a number or a '<number> <unit>' string, got [1]"),
        ("-300 degC", "temperature", "route.yaml: operations[1].volume: temperature must be above absolute zero, got '-300 degC'"),
        ("45 kJ", "activation-energy", "route.yaml: operations[1].volume: expected an activation energy (energy per mole), got '45 kJ'"),
        ("1 mol/L", "flow", "route.yaml: operations[1].volume: expected a volumetric flow, got '1 mol/L'"),
    ],
)
def test_errors_name_source_location_problem(value, kind, message):
    with pytest.raises(InputError) as err:
        parse_quantity(value, kind, None, Location("route.yaml", "operations[1].volume"))
    assert str(err.value) == message
    assert err.value.source == "route.yaml"
    assert err.value.location == "operations[1].volume"
    assert isinstance(err.value, ValueError)


def test_sign_checks():
    assert parse_quantity("-2 mL", "volume") == pytest.approx(-2e-6, rel=REL)
    with pytest.raises(InputError, match="must not be negative"):
        parse_quantity("-2 mL", "volume", nonnegative=True)
    with pytest.raises(InputError, match="must be positive"):
        parse_quantity(0, "volume", positive=True)
    assert parse_quantity(0, "volume", nonnegative=True) == 0.0


def test_where_as_string_and_source():
    with pytest.raises(InputError) as err:
        parse_quantity("1 s", "volume", where="feeds[0].flow", source="r.yaml")
    assert (err.value.source, err.value.location) == ("r.yaml", "feeds[0].flow")


def test_units_block_validation():
    assert parse_units_block(None) == {}
    with pytest.raises(InputError) as err:
        parse_units_block({"time": "m"}, "m.yaml")
    assert str(err.value) == "m.yaml: units.time: expected a unit of time, got 'm'"
    with pytest.raises(InputError) as err:
        parse_units_block({"concentrations": "mol/L"}, "m.yaml")
    assert err.value.location == "units.concentrations"
    assert "unknown key" in err.value.problem
    with pytest.raises(InputError, match="unknown unit 'floop'"):
        parse_units_block({"volume": "floop"}, "m.yaml")
    with pytest.raises(InputError, match="expected a unit name"):
        parse_units_block({"volume": 3}, "m.yaml")
    with pytest.raises(InputError, match="expected a mapping"):
        parse_units_block(["mol/L"], "m.yaml")


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown quantity kind"):
        parse_quantity(1, "speed")


def test_registry_is_lazy():
    import subprocess
    import sys

    code = "import sys, flowchem.core.units; print('pint' in sys.modules)"
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False"


def test_activation_energy_over_r():
    # 45 kJ/mol / R in K, independent arithmetic
    assert parse_quantity("45 kJ/mol", "activation-energy") / GAS_CONSTANT == pytest.approx(45000 / 8.314462618, rel=1e-15)


def test_cached_unit_conversions_match_hand_values():
    """Every unit is converted by pint on first use and by a cached affine map
    afterwards: both give the hand values (offset temperatures included), and
    a bad value with a cached unit is still refused."""
    from flowchem.core.units import parse_quantity

    cases = [("77 degF", "temperature", 298.15), ("-40 degC", "temperature", 233.15),
             ("-40 degF", "temperature", 233.15), ("2.5 mL/min", "flow", 2.5e-6 / 60),
             ("5 degC", "temperature_difference", 5.0), ("3 h", "time", 10800.0)]
    for _ in range(2):   # first: pint; second: the cache
        for text, kind, expected in cases:
            assert parse_quantity(text, kind) == pytest.approx(expected, rel=1e-12, abs=1e-9)
    # pint's logarithmic units are not affine and are never cached: 10^(x/10)
    assert parse_quantity("1 dB", "dimensionless") == pytest.approx(10 ** 0.1, rel=1e-12)
    assert parse_quantity("3 dB", "dimensionless") == pytest.approx(10 ** 0.3, rel=1e-12)
    with pytest.raises(InputError, match="absolute zero"):
        parse_quantity("-300 degC", "temperature")
    with pytest.raises(InputError, match="positive"):
        parse_quantity("-2.5 mL/min", "flow", positive=True)


def test_yaml_cache_returns_independent_copies(tmp_path):
    """A re-read file is served from the parse cache as a fresh copy: changing
    what one read returned does not change the next read."""
    from flowchem.core.yamlio import read_yaml

    p = tmp_path / "a.yaml"
    p.write_text("species: [{name: A}]\nn: 2.0e6\n")
    first, _ = read_yaml(p)
    first["species"][0]["name"] = "changed"
    second, _ = read_yaml(p)
    assert second == {"species": [{"name": "A"}], "n": 2.0e6}
    p.write_text("species: [{name: B}]\n")   # a changed file is parsed again
    assert read_yaml(p)[0] == {"species": [{"name": "B"}]}
