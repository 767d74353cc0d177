"""The footprint engine: hand-checked cases pinned exactly, errors that name processes, per-gas
consistency, Monte Carlo reproducibility, and agreement with Brightway (bw2calc) on USLCI and a
synthetic database-shaped network."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipelines.common import gwp
from pipelines.engine import montecarlo
from pipelines.engine.network import NetworkError, Solver, build, gwp_weights, solve_footprints
from pipelines.engine.olca import ghg_map, load_olca_zip
from pipelines.engine.synthetic import generate


def _net(procs, tech, bio):
    processes = pl.DataFrame({"process_id": procs, "name": procs})
    technosphere = pl.DataFrame(tech, schema=["consumer", "provider", "amount"], orient="row")
    biosphere = pl.DataFrame(bio, schema=["process_id", "gas", "amount_kg"], orient="row")
    return build(processes, technosphere, biosphere)


def test_two_level_product_exact():
    # P: 2 kg M + 1 kWh E; M: 0.5 kWh E + 1 kg CO2; E: 0.6 kg CO2/kWh
    net = _net(
        ["P", "M", "E"],
        [("P", "M", 2.0), ("P", "E", 1.0), ("M", "E", 0.5)],
        [("E", "CO2_fossil", 0.6), ("M", "CO2_fossil", 1.0)],
    )
    f = solve_footprints(net, "AR6")
    assert f.co2e.tolist() == pytest.approx([3.2, 1.3, 0.6], rel=1e-15)


def test_loop_exact():
    # Electricity uses coal, coal mining uses electricity: e = 0.5 + 0.1 c, c = 0.1 + 0.2 e
    net = _net(["E", "C"], [("E", "C", 0.1), ("C", "E", 0.2)], [("E", "CO2_fossil", 0.5), ("C", "CO2_fossil", 0.1)])
    f = solve_footprints(net, "AR6")
    e = 0.51 / 0.98
    assert f.co2e.tolist() == pytest.approx([e, 0.1 + 0.2 * e], rel=1e-14)


def test_gases_and_gwp_set():
    net = _net(["P"], [], [("P", "CO2_fossil", 1.0), ("P", "CH4_fossil", 0.01), ("P", "N2O", 0.001)])
    ar6 = solve_footprints(net, "AR6")
    assert ar6.co2e[0] == pytest.approx(1 + 0.01 * 29.8 + 0.001 * 273)
    ar5 = solve_footprints(net, "AR5")
    assert ar5.co2e[0] == pytest.approx(1 + 0.01 * gwp.gwp("CH4_fossil", "AR5") + 0.001 * gwp.gwp("N2O", "AR5"))
    assert ar6.co2e == pytest.approx(ar6.weights @ ar6.per_gas)


def test_cut_off_inputs_are_recorded_not_linked():
    processes = pl.DataFrame({"process_id": ["P"], "name": ["P"]})
    tech = pl.DataFrame({"consumer": ["P"], "provider": ["nowhere"], "amount": [3.0]})
    net = build(processes, tech, pl.DataFrame({"process_id": ["P"], "gas": ["CO2_fossil"], "amount_kg": [1.0]}))
    assert net.cut_off.height == 1 and solve_footprints(net, "AR6").co2e[0] == 1.0


def test_singular_and_unproductive_systems_name_processes():
    # a process that consumes all it makes
    net = _net(["P", "Q"], [("P", "P", 1.0), ("Q", "P", 1.0)], [("P", "CO2_fossil", 1.0)])
    with pytest.raises(NetworkError, match="P"):
        Solver(net)
    # a loop that needs 2 units of B per A and 1 A per B: unproductive
    net = _net(["A", "B"], [("A", "B", 2.0), ("B", "A", 1.0)], [("A", "CO2_fossil", 1.0)])
    solver = Solver(net)
    with pytest.raises(NetworkError, match="unproductive"):
        solver.check_productive()
    with pytest.raises(NetworkError):
        Solver(net, method="jacobi").solve_adjoint(np.ones(2))


def test_jacobi_and_lu_agree_on_a_realistic_network():
    p, t, b = generate(3_000, seed=3)
    net = build(p, t, b)
    jac = Solver(net)
    x_j = solve_footprints(net, "AR6", jac).co2e
    assert jac.used == "jacobi"
    x_l = solve_footprints(net, "AR6", Solver(net, method="lu")).co2e
    assert np.max(np.abs(x_j - x_l) / np.abs(x_l)) < 1e-12


def test_monte_carlo_is_seeded_and_brackets_the_value():
    p, t, b = generate(800, seed=5)
    net = build(p, t, b)
    solver = Solver(net)
    f = solve_footprints(net, "AR6", solver)
    w = gwp_weights(net.gases, "AR6")
    tg, bg = montecarlo.aligned_gsd2(net, t), montecarlo.aligned_bio_gsd2(net, b)
    r1 = montecarlo.run(net, w, tg, bg, iterations=1000, seed=7, base=f.co2e, solver=solver)
    r2 = montecarlo.run(net, w, tg, bg, iterations=1000, seed=7, base=f.co2e, solver=solver)
    assert np.array_equal(r1.p50, r2.p50) and np.array_equal(r1.p95, r2.p95)
    assert np.all(r1.p5 <= r1.p50) and np.all(r1.p50 <= r1.p95)
    assert np.all((r1.p5 < f.co2e) & (f.co2e < r1.p95))  # lognormal around the median value
    r3 = montecarlo.run(net, w, tg, bg, iterations=1000, seed=8, base=f.co2e, solver=solver)
    assert not np.array_equal(r1.p50, r3.p50)
    # no uncertainty: every percentile is the deterministic value
    r0 = montecarlo.run(net, w, None, None, iterations=10, seed=1, base=f.co2e, solver=solver)
    assert r0.p5 == pytest.approx(f.co2e, rel=1e-13) and r0.p95 == pytest.approx(f.co2e, rel=1e-13)


@pytest.fixture(scope="module")
def uslci(sources_dir):
    return load_olca_zip(sources_dir / "uslci_olca_jsonld_v1_5" / "uslci_olca1_5_0_json_ld.zip")


def test_uslci_loads_as_a_network(uslci):
    assert uslci.processes.height >= 766
    assert uslci.technosphere.height > 3000 and uslci.biosphere.height > 1500
    assert uslci.cut_off.height > 0  # USLCI's CUTOFF and dummy flows
    # the reviewed GHG map covers every greenhouse-gas-like elementary flow of USLCI
    assert uslci.unmapped_elementary.height == 0, uslci.unmapped_elementary
    for (_name, _direction), (gas, sign, _note) in ghg_map().items():
        if gas:
            assert gwp.gwp(gas, "AR6") > 0 and sign in (1.0, -1.0)


def test_agrees_with_brightway_on_uslci(uslci):
    from tests.brightway_reference import all_product_scores, loop_scores

    net = build(uslci.processes, uslci.technosphere, uslci.biosphere)
    ours = solve_footprints(net, "AR6").co2e
    bw = all_product_scores(net, "AR6")
    nonzero = np.abs(bw) > 1e-300
    assert nonzero.sum() > 600
    assert np.max(np.abs(ours[nonzero] - bw[nonzero]) / np.abs(bw[nonzero])) < 1e-9
    assert np.all(ours[~nonzero] == 0)
    sample = list(range(0, net.size, 97))
    assert (
        np.max(np.abs(ours[sample] - loop_scores(net, "AR6", sample)) / np.maximum(np.abs(ours[sample]), 1e-300)) < 1e-9
    )
    electricity = [i for i, n in enumerate(net.names) if n.startswith("Electricity, at eGrid, SRVC, 2010")]
    assert ours[electricity[0]] == pytest.approx(0.1616, rel=1e-3)  # kg CO2e/kWh, Virginia-Carolina grid 2010


def test_agrees_with_brightway_on_a_synthetic_network():
    from tests.brightway_reference import all_product_scores

    p, t, b = generate(2_000, seed=11)
    net = build(p, t, b)
    ours = solve_footprints(net, "AR6").co2e
    bw = all_product_scores(net, "AR6")
    assert np.max(np.abs(ours - bw) / np.abs(bw)) < 1e-9


def test_monte_carlo_agrees_with_brightway_in_distribution():
    # Same lognormal model (median = value, sigma = ln sqrt(GSD^2)) drawn by two independent samplers:
    # percentiles of one product agree to within sampling error (800 draws each).
    from tests.brightway_reference import monte_carlo_one_product

    p, t, b = generate(300, seed=5)
    net = build(p, t, b)
    tech_g, bio_g = montecarlo.aligned_gsd2(net, t), montecarlo.aligned_bio_gsd2(net, b)
    product = net.size - 1
    ours = montecarlo.run(net, gwp_weights(net.gases, "AR6"), tech_g, bio_g, iterations=800, seed=3)
    bw = np.percentile(monte_carlo_one_product(net, "AR6", product, tech_g, bio_g, 800, seed=4), [5, 50, 95])
    assert ours.p50[product] == pytest.approx(bw[1], rel=0.04)
    assert ours.p5[product] == pytest.approx(bw[0], rel=0.08)
    assert ours.p95[product] == pytest.approx(bw[2], rel=0.08)
    assert ours.p95[product] / ours.p5[product] > 1.1  # the spread is real, not a degenerate draw


def _olca_zip(path, processes):
    """A minimal openLCA JSON-LD zip: one mass unit group (kg, g), product and elementary flows."""
    import json
    import zipfile

    kg, g = (
        {"@id": "u-kg", "name": "kg", "conversionFactor": 1.0},
        {"@id": "u-g", "name": "g", "conversionFactor": 0.001},
    )
    flows = {
        name: {
            "@id": f"f-{name}",
            "name": name,
            "flowType": ftype,
            "flowProperties": [{"flowProperty": {"@id": "fp-mass"}, "conversionFactor": 1.0}],
        }
        for name, ftype in (
            ("steel", "PRODUCT_FLOW"),
            ("slag", "PRODUCT_FLOW"),
            ("electricity", "PRODUCT_FLOW"),
            ("part", "PRODUCT_FLOW"),
            ("Carbon dioxide, fossil", "ELEMENTARY_FLOW"),
        )
    }
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("unit_groups/ug.json", json.dumps({"@id": "ug", "units": [kg, g]}))
        for f in flows.values():
            zf.writestr(f"flows/{f['@id']}.json", json.dumps(f))
        for p in processes:
            for e in p["exchanges"]:
                e["flow"] = {"@id": f"f-{e['flow']}", "name": e["flow"]}
                e["unit"] = {"@id": "u-g" if e.pop("grams", False) else "u-kg"}
                e["flowProperty"] = {"@id": "fp-mass"}
                e["@id"] = e.get("@id", f"{p['@id']}-{e['flow']['name']}")
            zf.writestr(f"processes/{p['@id']}.json", json.dumps(p))
    return path


def test_allocation_exact(tmp_path):
    # Steel making: 1 kg steel (reference) + 0.5 kg slag from 2 kWh electricity and 1,000 g CO2;
    # physical allocation 0.8 / 0.2. Electricity: 0.5 kg CO2 per unit. A part uses 2 kg steel + 1 kg slag.
    #   steel = 0.8 x (1 kg CO2 + 2 x 0.5) / 1 kg   = 1.6 kg CO2e/kg
    #   slag  = 0.2 x (1 kg CO2 + 2 x 0.5) / 0.5 kg = 0.8 kg CO2e/kg
    #   part  = 2 x 1.6 + 1 x 0.8                   = 4.0 kg CO2e
    co2 = "Carbon dioxide, fossil"
    steel_making = {
        "@id": "steel-making",
        "name": "steel making",
        "defaultAllocationMethod": "PHYSICAL_ALLOCATION",
        "allocationFactors": [
            {"allocationType": "PHYSICAL_ALLOCATION", "product": {"@id": "f-steel"}, "value": 0.8},
            {"allocationType": "PHYSICAL_ALLOCATION", "product": {"@id": "f-slag"}, "value": 0.2},
        ],
        "exchanges": [
            {"flow": "steel", "amount": 1.0, "quantitativeReference": True},
            {"flow": "slag", "amount": 0.5},
            {"flow": "electricity", "amount": 2.0, "input": True},
            {"flow": co2, "amount": 1000.0, "grams": True},
        ],
    }
    power = {
        "@id": "power",
        "name": "power",
        "exchanges": [
            {"flow": "electricity", "amount": 1.0, "quantitativeReference": True},
            {"flow": co2, "amount": 0.5},
        ],
    }
    part = {
        "@id": "part",
        "name": "part",
        "exchanges": [
            {"flow": "part", "amount": 1.0, "quantitativeReference": True},
            {"flow": "steel", "amount": 2.0, "input": True},
            {"flow": "slag", "amount": 1.0, "input": True},
        ],
    }
    db = load_olca_zip(_olca_zip(tmp_path / "alloc.zip", [steel_making, power, part]))
    net = build(db.processes, db.technosphere, db.biosphere)
    f = dict(zip(net.process_ids, solve_footprints(net, "AR6").co2e))
    assert f["steel-making::f-steel"] == pytest.approx(1.6, rel=1e-15)
    assert f["steel-making::f-slag"] == pytest.approx(0.8, rel=1e-15)
    assert f["part"] == pytest.approx(4.0, rel=1e-15)
    assert f["power"] == 0.5
    assert db.cut_off.height == 0


def test_monte_carlo_of_a_product_does_not_depend_on_the_rest_of_the_network():
    # Keyed draws: a product's percentiles depend on its supply chain and the seed only. Adding new
    # processes (listed first, so every index shifts) leaves the existing products' results unchanged.
    p, t, b = generate(300, seed=6)
    base = build(p, t, b)
    w = gwp_weights(base.gases, "AR6")
    before = montecarlo.run(
        base, w, montecarlo.aligned_gsd2(base, t), montecarlo.aligned_bio_gsd2(base, b), iterations=300, seed=9
    )
    extra_p = pl.DataFrame(
        {"process_id": ["new-a", "new-b"], "name": ["new a", "new b"], "kind": "product", "reference_amount": 1.0}
    )
    extra_t = pl.DataFrame(
        {
            "consumer": ["new-a", "new-b", "new-a"],
            "provider": ["p0000001", "new-a", "p0000299"],
            "amount": [0.5, 2.0, 0.1],
            "gsd2": [1.3, 1.2, 1.1],
            "stage": "raw_material",
            "line_id": "x",
        }
    )
    extra_b = pl.DataFrame({"process_id": ["new-a"], "gas": ["CO2_fossil"], "amount_kg": [3.0], "gsd2": [1.4]})
    p2, t2, b2 = (
        pl.concat([extra_p, p], how="diagonal"),
        pl.concat([extra_t, t], how="diagonal"),
        pl.concat([extra_b, b]),
    )
    grown = build(p2, t2, b2)
    after = montecarlo.run(
        grown,
        gwp_weights(grown.gases, "AR6"),
        montecarlo.aligned_gsd2(grown, t2),
        montecarlo.aligned_bio_gsd2(grown, b2),
        iterations=300,
        seed=9,
    )
    old = [grown.index[i] for i in base.process_ids]
    np.testing.assert_allclose(after.p50[old], before.p50, rtol=1e-12)
    np.testing.assert_allclose(after.p95[old], before.p95, rtol=1e-12)
    assert after.p95[grown.index["new-b"]] > after.p5[grown.index["new-b"]]
    other_seed = montecarlo.run(
        base, w, montecarlo.aligned_gsd2(base, t), montecarlo.aligned_bio_gsd2(base, b), iterations=300, seed=10
    )
    assert not np.allclose(other_seed.p50, before.p50, rtol=1e-9)


# --- issue 20: every solve vouches for its answer ---------------------------------------------------------


def test_a_loop_singular_up_to_rounding_is_refused_with_its_processes():
    """Radius 1.0: X -> Y -> Z -> X make exactly (up to rounding) what they need of themselves. A plain LU
    returns finite numbers far off; the solver refuses and names the loop."""
    a = 0.3
    net = _net(
        ["X", "Y", "Z", "P"],
        [("X", "Y", a), ("Y", "Z", 1 / a), ("Z", "X", 1.0), ("P", "X", 1.0)],
        [("X", "CO2_fossil", 1.0), ("P", "CO2_fossil", 1.0)],
    )
    with pytest.raises(NetworkError) as err:
        solve_footprints(net, "AR6")
    text = str(err.value)
    assert ("singular" in text or "unproductive" in text) and all(n in text for n in ("X", "Y", "Z"))


def test_an_unproductive_loop_is_refused_not_published_negative():
    """Radius 1.02: each unit of A needs 1.01 B and each B 1.01 A; the footprints would all come out
    negative; the solver refuses and names the processes."""
    r = 1.02**0.5
    net = _net(["A", "B", "C"], [("A", "B", r), ("B", "A", r), ("C", "A", 1.0)], [("A", "CO2_fossil", 1.0)])
    for method in ("auto", "lu"):
        with pytest.raises(NetworkError, match="unproductive") as err:
            solve_footprints(net, "AR6", Solver(net, method=method))
        assert "A" in str(err.value) and "B" in str(err.value)


def test_avoided_products_are_not_mistaken_for_an_unproductive_network():
    """A credit (a negative input: the avoided product of recycling) is allowed; only the inputs decide
    whether a loop is productive."""
    net = _net(
        ["P", "Q", "R"],
        [("P", "Q", 0.5), ("Q", "R", 0.2), ("P", "R", -0.3)],
        [("Q", "CO2_fossil", 1.0), ("R", "CO2_fossil", 2.0), ("P", "CO2_fossil", 0.1)],
    )
    solver = Solver(net)
    solver.check_productive()
    f = solve_footprints(net, "AR6", solver).co2e
    # R 2; Q 1 + 0.2*2 = 1.4; P 0.1 + 0.5*1.4 - 0.3*2 = 0.2
    assert f.tolist() == pytest.approx([0.2, 1.4, 2.0], rel=1e-14)


def test_a_strongly_looped_network_is_solved_accurately_by_the_krylov_path():
    """Radius 0.99: Jacobi would need thousands of sweeps; BiCGSTAB with the diagonal preconditioner
    converges, and agrees with the direct solve to 1e-12."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    p, t, b = generate(1_500, seed=11)
    net = build(p, t, b)
    d = net.A.diagonal()
    Z = (sp.diags(d) - net.A).tocsr()
    rho = abs(spla.eigs(sp.diags(1 / d) @ Z, k=1, which="LM", return_eigenvectors=False)[0])
    scaled = t.with_columns(pl.col("amount") * (0.99 / rho))
    net = build(p, scaled, b)
    fast = Solver(net)
    x = solve_footprints(net, "AR6", fast)
    assert fast.used == "bicgstab"
    direct = solve_footprints(net, "AR6", Solver(net, method="lu"))
    assert np.max(np.abs(x.per_gas - direct.per_gas) / np.maximum(np.abs(direct.per_gas), 1e-300)) < 1e-12


def test_monte_carlo_on_a_strongly_looped_network_does_not_refactorise_per_draw(monkeypatch):
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    from pipelines.engine import montecarlo
    from pipelines.engine.montecarlo import aligned_bio_gsd2, aligned_gsd2

    p, t, b = generate(800, seed=5)
    net = build(p, t, b)
    d = net.A.diagonal()
    Z = (sp.diags(d) - net.A).tocsr()
    rho = abs(spla.eigs(sp.diags(1 / d) @ Z, k=1, which="LM", return_eigenvectors=False)[0])
    # strong loops, small uncertainty on the amounts (a draw stays productive: see docs/engine.md)
    t = t.with_columns(pl.col("amount") * (0.99 / rho), pl.when(pl.col("gsd2").is_not_null()).then(1.001).alias("gsd2"))
    net = build(p, t, b)
    solver = Solver(net)
    w = gwp_weights(net.gases, "AR6")
    base = solver.solve_adjoint(net.B.T @ w)
    assert solver.used == "bicgstab"
    calls = []
    real = spla.spsolve
    monkeypatch.setattr(spla, "spsolve", lambda *a, **k: calls.append(1) or real(*a, **k))
    res = montecarlo.run(
        net, w, aligned_gsd2(net, t), aligned_bio_gsd2(net, b), iterations=20, solver=solver, base=base
    )
    assert calls == [] and np.all(np.isfinite(res.p50)) and np.all(res.p5 <= res.p95)
    assert np.median(np.abs(res.p50 - base) / np.abs(base)) < 0.5


def test_a_monte_carlo_draw_is_vouched_for():
    """Issue 20: a draw whose perturbed amounts make the network unproductive is refused with the loop's
    processes, not published; an ordinary draw of the same network solves to the direct answer."""
    import scipy.sparse as sp

    # A and B feed each other (0.5 each way) and A carries a credit (avoided product C): Jacobi cannot vouch
    net = _net(
        ["A", "B", "C"],
        [("A", "B", 0.5), ("B", "A", 0.5), ("A", "C", -0.2)],
        [("A", "CO2_fossil", 1.0), ("B", "CO2_fossil", 1.0), ("C", "CO2_fossil", 1.0)],
    )
    solver = Solver(net)
    f = solve_footprints(net, "AR6", solver)
    A = net.A.tocsr()
    d = A.diagonal()
    ZT = (sp.diags(d) - A).T.tocsr()
    rhs = net.B.T.toarray()[:, 0]
    x = solver.solve_perturbed(d, ZT, rhs, f.per_gas[0])
    assert x == pytest.approx(sp.linalg.spsolve(A.T.tocsc(), rhs), rel=1e-12)
    # the draw: A now needs 2.5 B per unit; 2.5 x 0.5 > 1: no finite, non-negative supply exists
    Z = (sp.diags(d) - A).tolil()
    Z[net.index["B"], net.index["A"]] = 2.5
    with pytest.raises(NetworkError, match="unproductive|no accurate solution") as err:
        solver.solve_perturbed(d, Z.tocsr().T.tocsr(), rhs, f.per_gas[0])
    assert "A" in str(err.value) and "B" in str(err.value)
