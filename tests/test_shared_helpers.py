"""The shared helpers of the layout: flowsheet graph, atomic writes,
Gauss-Legendre quadrature over dense output, number formatting."""

import math

import numpy as np
import pytest

import flowchem as fc
from flowchem.core.errors import InputError
from flowchem.core.files import atomic_open, write_text_atomic
from flowchem.process.flowsheet import Flowsheet
from flowchem.reactors.quadrature import gauss_nodes, integrate_dense
from flowchem.reporting.numbers import significant, table_cell


def _graph():
    # a -> M1 <- b ; M1 -> S1 (organic, aqueous) ; S1.organic -> R1 ; S1.aqueous leaves
    return Flowsheet(["a", "b"], {"R1": ("",), "S1": ("organic", "aqueous"), "M1": ("",)},
                     {"M1": ["a", "b"], "S1": ["M1"], "R1": ["S1.organic"]}, "route.yaml")


def test_flowsheet_order_upstream_and_terminals():
    g = _graph()
    assert g.order == ["M1", "S1", "R1"]
    assert g.upstream("R1") == {"a", "b", "M1", "S1", "R1"}
    assert g.upstream("S1.aqueous") == {"a", "b", "M1", "S1"}
    assert g.upstream_feeds("S1.aqueous") == ["a", "b"]
    assert g.node("S1.organic") == ("S1", "organic")
    assert g.node("S1") == ("S1", None)
    assert g.node("a") == ("a", None)
    assert g.consumer == {"a": "M1", "b": "M1", "M1": "S1", "S1.organic": "R1"}
    assert g.terminal_streams() == ["R1", "S1.aqueous"]
    assert g.depth() == {"a": 0, "b": 0, "M1": 1, "S1": 2, "R1": 3}
    with pytest.raises(KeyError):
        g.node("S2")


@pytest.mark.parametrize("links, message, where", [
    ({"M1": ["a", "b"], "R1": ["R2"], "R2": ["R1"]}, "cycle: R1 -> R2 -> R1", "operations"),
    ({"M1": ["a", "b"], "R1": ["M1"], "R2": ["M1"]}, "already the inlet of 'R1'", "operations[2].from"),
    ({"M1": ["a", "b"], "R1": ["M9"], "R2": ["R1"]}, "unknown stream 'M9'", "operations[1].from"),
    ({"M1": ["a"], "R1": ["M1"], "R2": ["R1"]}, "feed 'b' is not the inlet", "feeds"),
])
def test_flowsheet_refusals_name_the_entry(links, message, where):
    with pytest.raises(InputError) as info:
        Flowsheet(["a", "b"], {"M1": ("",), "R1": ("",), "R2": ("",)}, links, "route.yaml")
    assert message in info.value.problem
    assert info.value.location == where
    assert info.value.source == "route.yaml"


def test_atomic_write_leaves_no_file_on_failure(tmp_path):
    target = tmp_path / "sub" / "result.json"
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("half")
            raise RuntimeError("solver failed")
    assert not target.exists()
    assert list((tmp_path / "sub").iterdir()) == []
    write_text_atomic(target, "whole\n")
    assert target.read_text() == "whole\n"
    assert (target.stat().st_mode & 0o777) == 0o644


def test_gauss_nodes_exact_for_degree_2n_minus_1():
    u, w = gauss_nodes(np.array([0.0, 0.5, 2.0]), 3)
    # degree 5 is integrated exactly by 3 nodes per panel: int_0^2 x^5 dx = 64/6
    assert np.dot(w, u**5) == pytest.approx(64.0 / 6.0, rel=1e-14)


def test_integrate_dense_against_closed_form():
    # A -> B, k = 0.3 1/s, batch for 10 s: int_0^10 c_A dt = c0 (1 - e^{-k t}) / k
    mech = fc.Mechanism.from_dict({"species": [{"name": "A"}, {"name": "B"}],
                                   "reactions": [{"equation": "A => B", "rate": {"k": 0.3}}]})
    res = fc.BatchReactor(mech, T=300.0, options=fc.SolverOptions(rtol=1e-10)).run({"A": 2.0}, 10.0)
    exact = 2.0 * (1.0 - math.exp(-3.0)) / 0.3
    assert integrate_dense(res.solution, lambda y: y[:, 0]) == pytest.approx(exact, rel=1e-8)


@pytest.mark.parametrize("x, kwargs, text", [
    (1.0, {}, "1.000"),
    (1.0, {"trailing_zeros": False}, "1"),
    (123456.0, {}, "1.235e+05"),
    (123456.0, {"trailing_zeros": False}, "1.235e+05"),
    (1.5e-7, {"trailing_zeros": False}, "1.5e-07"),
    (0.012345, {"n": 3}, "0.0123"),
    (None, {}, "–"),
    (None, {"missing": "-"}, "-"),
    (True, {}, "yes"),
    (0.0, {}, "0"),
    (float("inf"), {}, "inf"),
])
def test_significant(x, kwargs, text):
    assert significant(x, **kwargs) == text


def test_table_cell():
    assert table_cell(0.5) == "     0.5000"
    assert table_cell(250.0) == "     250.00"
    assert table_cell(2.5e6) == "  2.500e+06"
    assert table_cell(None, 4) == "   -"
