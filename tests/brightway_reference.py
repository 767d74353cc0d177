"""Brightway (bw2calc, test-only) on the same matrices as our engine: the independent reference."""

from __future__ import annotations

import warnings

import bw_processing as bwp
import numpy as np

from pipelines.engine.network import Network, gwp_weights

BIO_OFFSET = 10_000_000  # biosphere flow ids, apart from product/activity ids


def _lognormal(values: np.ndarray, gsd2: np.ndarray) -> np.ndarray:
    """Brightway's lognormal (stats_arrays type 2): loc = ln|median|, scale = sigma = ln(sqrt(GSD^2))."""
    d = np.zeros(values.size, dtype=bwp.UNCERTAINTY_DTYPE)
    g = np.where(np.isfinite(gsd2) & (gsd2 > 1.0), gsd2, 1.0)
    uncertain = g > 1.0
    d["uncertainty_type"] = np.where(uncertain, 2, 0)
    d["loc"] = np.where(uncertain, np.log(np.abs(values) + 1e-300), values)
    d["scale"] = np.where(uncertain, np.log(np.sqrt(g)), np.nan)
    d["shape"] = d["minimum"] = d["maximum"] = np.nan
    d["negative"] = values < 0
    return d


def datapackage(
    network: Network,
    gwp_set: str,
    tech_gsd2: np.ndarray | None = None,
    bio_gsd2: np.ndarray | None = None,
    weights: dict[str, float] | None = None,
) -> bwp.Datapackage:
    """The network as a Brightway datapackage; with GSD^2 arrays (aligned as for our Monte Carlo: A's
    off-diagonal COO entries, B's COO entries) it carries lognormal distributions too."""
    dp = bwp.create_datapackage()
    A = network.A.tocoo()
    # bw2calc builds A from positive numbers and a flip flag (inputs are stored positive, flipped).
    idx = np.array(list(zip(A.row, A.col)), dtype=bwp.INDICES_DTYPE)
    flip = A.data < 0
    extra = {}
    if tech_gsd2 is not None:
        g = np.ones(A.data.size)
        g[A.row != A.col] = tech_gsd2
        extra = {"distributions_array": _lognormal(np.abs(A.data), g)}
    dp.add_persistent_vector(
        matrix="technosphere_matrix",
        name="technosphere",
        indices_array=idx,
        data_array=np.abs(A.data),
        flip_array=flip,
        **extra,
    )
    B = network.B.tocoo()
    bidx = np.array(list(zip(B.row + BIO_OFFSET, B.col)), dtype=bwp.INDICES_DTYPE)
    extra = {"distributions_array": _lognormal(B.data, bio_gsd2)} if bio_gsd2 is not None else {}
    dp.add_persistent_vector(
        matrix="biosphere_matrix", name="biosphere", indices_array=bidx, data_array=B.data, **extra
    )
    w = gwp_weights(network.gases, gwp_set, weights)
    cidx = np.array([(k + BIO_OFFSET, k + BIO_OFFSET) for k in range(len(w))], dtype=bwp.INDICES_DTYPE)
    dp.add_persistent_vector(
        matrix="characterization_matrix", name="gwp", identifier=["gwp"], indices_array=cidx, data_array=w
    )
    return dp


def all_product_scores(
    network: Network, gwp_set: str, direction: str = "adjoint", weights: dict[str, float] | None = None
) -> np.ndarray:
    """Per-unit CO2e of every product, Brightway's fastest way (FastScoresOnlyMultiLCA, adjoint)."""
    import bw2calc as bc

    dp = datapackage(network, gwp_set, weights=weights)
    demands = {str(j): {j: 1.0} for j in range(network.size)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lca = bc.FastScoresOnlyMultiLCA(
            demands=demands, method_config={"impact_categories": [("gwp",)]}, data_objs=[dp], direction=direction
        )
        lca.calculate()
    scores = lca.product_scores  # [LCIA, products], labelled with our integer product ids
    out = np.empty(network.size)
    out[np.asarray(scores.coords["products"].values, dtype=int)] = np.asarray(scores.values)[0]
    return out


def loop_scores(network: Network, gwp_set: str, products: list[int]) -> np.ndarray:
    """Brightway's per-product loop (LCA + redo_lcia), the way most scripts do it."""
    import bw2calc as bc

    dp = datapackage(network, gwp_set)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lca = bc.LCA({products[0]: 1.0}, data_objs=[dp], method=("gwp",))
        lca.lci()
        lca.lcia()
        out = []
        for j in products:
            lca.redo_lcia({j: 1.0})
            out.append(lca.score)
    return np.array(out)


def monte_carlo_one_product(
    network: Network,
    gwp_set: str,
    product: int,
    tech_gsd2: np.ndarray,
    bio_gsd2: np.ndarray,
    iterations: int,
    seed: int = 1,
) -> np.ndarray:
    """Brightway's Monte Carlo for ONE functional unit (LCA with use_distributions, next() per draw)."""
    import bw2calc as bc

    dp = datapackage(network, gwp_set, tech_gsd2, bio_gsd2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lca = bc.LCA({product: 1.0}, data_objs=[dp], method=("gwp",), use_distributions=True, seed_override=seed)
        lca.lci()
        lca.lcia()
        out = []
        for _ in range(iterations):
            next(lca)
            out.append(lca.score)
    return np.array(out)
