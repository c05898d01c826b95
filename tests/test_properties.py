"""flowchem.chemistry.properties: parsing, defaults, overrides, mixing rules against hand values.

Unit conversions to 1e-12 relative (pint's factors carry a few ulp); mixing rules
against hand calculations to 1e-14 relative.
"""


import pytest

from flowchem.core.errors import InputError, Location
from flowchem.chemistry.properties import (
    PROPERTY_KEYS,
    LiquidProperties,
    mix_properties,
    mixed_temperature,
    parse_property,
)

REL = 1e-12


def test_from_mapping_units_to_si():
    p = LiquidProperties.from_mapping({
        "density": "0.89 g/mL", "cp": "1.9 kJ/kg/K", "viscosity": "0.6 cP",
        "thermal_conductivity": "0.15 W/m/K", "diffusivity": "1e-9 m^2/s"})
    assert p.density == pytest.approx(890.0, rel=REL)
    assert p.cp == pytest.approx(1900.0, rel=REL)
    assert p.viscosity == pytest.approx(6e-4, rel=REL)
    assert p.thermal_conductivity == pytest.approx(0.15, rel=REL)
    assert p.diffusivity == pytest.approx(1e-9, rel=REL)


@pytest.mark.parametrize("value, kind, expected", [
    ("4.2 kJ/kg/degC", "heat_capacity", 4200.0),
    ("0.6 W/m/degC", "thermal_conductivity", 0.6),
    ("1 BTU/hr/ft/degF", "thermal_conductivity", 1.730734908136483),  # 1.7307 W/m/K
    ("1e-5 cm^2/s", "diffusivity", 1e-9),
    ("0.25", "diffusivity", 0.25),
    (2e-9, "diffusivity", 2e-9),
    ("1 mPa*s", "viscosity", 1e-3),
])
def test_parse_property(value, kind, expected):
    assert parse_property(value, kind) == pytest.approx(expected, rel=REL)


def test_plain_numbers_are_si_and_defaults_fill_missing_keys():
    p = LiquidProperties.from_mapping({"density": 1000, "viscosity": 1e-3})
    d = LiquidProperties.default()
    assert (p.density, p.viscosity) == (1000.0, 1e-3)
    assert (p.cp, p.thermal_conductivity, p.diffusivity) == (d.cp, d.thermal_conductivity, d.diffusivity)
    assert LiquidProperties.from_mapping(None) == d


def test_default_values_documented():
    d = LiquidProperties.default()
    assert d == LiquidProperties(900.0, 2000.0, 0.6e-3, 0.15, 1e-9)
    assert d.prandtl == pytest.approx(2000 * 0.6e-3 / 0.15, rel=1e-14)  # 8.0
    assert d.kinematic_viscosity == pytest.approx(0.6e-3 / 900, rel=1e-14)
    assert d.schmidt == pytest.approx(0.6e-3 / (900 * 1e-9), rel=1e-14)


def test_merged_overrides_per_feed():
    route = LiquidProperties.from_mapping({"density": "0.8 g/mL", "cp": 1800})
    feed = route.merged({"viscosity": "2 cP"}, source="route.yaml", where="feeds[1].properties")
    assert (feed.density, feed.cp) == (route.density, route.cp)
    assert feed.viscosity == pytest.approx(2e-3, rel=REL)
    assert route.merged(None) is route


def test_no_base_requires_core_properties():
    with pytest.raises(InputError, match="missing cp, viscosity"):
        LiquidProperties.from_mapping({"density": 900}, base=None)
    p = LiquidProperties.from_mapping({"density": 900, "cp": 2000, "viscosity": 1e-3}, base=None)
    assert p.thermal_conductivity is None and p.diffusivity is None
    with pytest.raises(InputError, match="thermal_conductivity"):
        p.prandtl


@pytest.mark.parametrize("mapping, location, message", [
    ({"visc": "1 cP"}, "feeds[0].properties.visc", "unknown property 'visc'"),
    ({"density": "0.9 g/mL/s"}, "feeds[0].properties.density", "expected a density"),
    ({"viscosity": "1 cSt"}, "feeds[0].properties.viscosity", "expected a dynamic viscosity"),
    ({"cp": "2 kJ/mol/K"}, "feeds[0].properties.cp", "expected a specific heat capacity"),
    ({"thermal_conductivity": "0.15 W/m"}, "feeds[0].properties.thermal_conductivity",
     "expected a thermal conductivity"),
    ({"diffusivity": "1e-9 m/s"}, "feeds[0].properties.diffusivity", "expected a diffusivity"),
    ({"diffusivity": "1e-9 blorps^2/s"}, "feeds[0].properties.diffusivity", "unknown unit"),
    ({"thermal_conductivity": "fast"}, "feeds[0].properties.thermal_conductivity", "expected a thermal conductivity"),
    ({"thermal_conductivity": True}, "feeds[0].properties.thermal_conductivity", "expected a number"),
    ({"diffusivity": "-1e-9 m^2/s"}, "feeds[0].properties.diffusivity", "must be positive"),
    ({"density": 0}, "feeds[0].properties.density", "must be positive"),
    ({"cp": float("nan")}, "feeds[0].properties.cp", "finite"),
])
def test_parsing_errors_name_file_and_entry(mapping, location, message):
    with pytest.raises(InputError) as e:
        LiquidProperties.from_mapping(mapping, source="route.yaml",
                                      where=Location("route.yaml").key("feeds").item(0).key("properties"))
    assert e.value.source == "route.yaml"
    assert e.value.location == location
    assert message in e.value.problem
    assert str(e.value).startswith(f"route.yaml: {location}: ")


def test_not_a_mapping():
    with pytest.raises(InputError, match="expected a mapping"):
        LiquidProperties.from_mapping([1, 2], source="r.yaml")
    assert set(PROPERTY_KEYS) == {"density", "cp", "viscosity", "thermal_conductivity", "diffusivity"}


def test_constructor_validates():
    with pytest.raises(InputError, match="LiquidProperties.viscosity"):
        LiquidProperties(900.0, 2000.0, -1.0)


# ------------------------------------------------------------------ mixing
A = LiquidProperties(density=1000.0, cp=4000.0, viscosity=1e-3, thermal_conductivity=0.6, diffusivity=2e-9)
B = LiquidProperties(density=800.0, cp=2000.0, viscosity=0.5e-3, thermal_conductivity=0.2, diffusivity=1e-9)


def test_mix_properties_by_hand():
    # 1 kg/s A + 3 kg/s B: w = 0.25, 0.75
    m = mix_properties([(A, 1.0), (B, 3.0)])
    assert m.cp == pytest.approx(0.25 * 4000 + 0.75 * 2000, rel=1e-14)  # 2500
    assert m.density == pytest.approx(1 / (0.25 / 1000 + 0.75 / 800), rel=1e-14)  # 842.105...
    assert m.density == pytest.approx(842.1052631578947, rel=1e-14)
    # ideal volume additivity: volumetric flows add
    assert 4.0 / m.density == pytest.approx(1.0 / 1000 + 3.0 / 800, rel=1e-14)
    assert m.viscosity == pytest.approx(1e-3 ** 0.25 * 0.5e-3 ** 0.75, rel=1e-13)  # 5.946e-4
    assert m.thermal_conductivity == pytest.approx(0.25 * 0.6 + 0.75 * 0.2, rel=1e-14)
    assert m.diffusivity == pytest.approx(0.25 * 2e-9 + 0.75 * 1e-9, rel=1e-14)


def test_mix_properties_edge_cases():
    assert mix_properties([(A, 2.0)]) is A
    assert mix_properties([(A, 2.0), (B, 0.0)]) is A
    no_k = LiquidProperties(800.0, 2000.0, 1e-3)
    assert mix_properties([(A, 1.0), (no_k, 1.0)]).thermal_conductivity is None
    with pytest.raises(InputError, match="total mass flow"):
        mix_properties([(A, 0.0)])
    with pytest.raises(InputError, match="inlets\\[1\\]"):
        mix_properties([(A, 1.0), (B, -1.0)])
    with pytest.raises(InputError, match="at least one inlet"):
        mix_properties([])


def test_mixed_temperature_by_hand():
    # 1 kg/s at cp 4180, 300 K + 2 kg/s at cp 2000, 350 K:
    # T = (1*4180*300 + 2*2000*350) / (4180 + 4000) = 2654000 / 8180 = 324.44987775061...
    T = mixed_temperature([(4180.0, 1.0, 300.0), (LiquidProperties(900, 2000, 1e-3), 2.0, 350.0)])
    assert T == pytest.approx(2654000 / 8180, rel=1e-14)
    assert T == pytest.approx(324.4498777506112, rel=1e-14)
    # enthalpy balance residual
    assert abs(4180 * (300 - T) + 4000 * (350 - T)) < 1e-9
    # consistent with the mass-weighted cp of the mixture: sum(m cp T) = m_tot cp_mix T
    mix = mix_properties([(A, 1.0), (B, 3.0)])
    T2 = mixed_temperature([(A, 1.0, 280.0), (B, 3.0, 320.0)])
    assert 4.0 * mix.cp * T2 == pytest.approx(1.0 * 4000 * 280 + 3.0 * 2000 * 320, rel=1e-14)
    assert mixed_temperature([(A, 1.0, 300.0), (B, 1.0, 300.0)]) == pytest.approx(300.0, rel=1e-15)


def test_mixed_temperature_errors():
    with pytest.raises(InputError, match="T must be"):
        mixed_temperature([(A, 1.0, -5.0)])
    with pytest.raises(InputError, match="cp must be"):
        mixed_temperature([(0.0, 1.0, 300.0)])
