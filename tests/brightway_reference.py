"""Brightway (bw2calc, test-only) on the same matrices as our engine: the independent reference."""

from __future__ import annotations

import warnings

import bw_processing as bwp
import numpy as np

from pipelines.engine.network import Network, gwp_weights

BIO_OFFSET = 10_000_000  # biosphere flow ids, apart from product/activity ids


def datapackage(network: Network, gwp_set: str) -> bwp.Datapackage:
    dp = bwp.create_datapackage()
    A = network.A.tocoo()
    # bw2calc builds A from positive numbers and a flip flag (inputs are stored positive, flipped).
    idx = np.array(list(zip(A.row, A.col)), dtype=bwp.INDICES_DTYPE)
    flip = A.data < 0
    dp.add_persistent_vector(matrix="technosphere_matrix", name="technosphere", indices_array=idx,
                             data_array=np.abs(A.data), flip_array=flip)
    B = network.B.tocoo()
    bidx = np.array(list(zip(B.row + BIO_OFFSET, B.col)), dtype=bwp.INDICES_DTYPE)
    dp.add_persistent_vector(matrix="biosphere_matrix", name="biosphere", indices_array=bidx, data_array=B.data)
    w = gwp_weights(network.gases, gwp_set)
    cidx = np.array([(k + BIO_OFFSET, k + BIO_OFFSET) for k in range(len(w))], dtype=bwp.INDICES_DTYPE)
    dp.add_persistent_vector(matrix="characterization_matrix", name="gwp", identifier=["gwp"], indices_array=cidx,
                             data_array=w)
    return dp


def all_product_scores(network: Network, gwp_set: str, direction: str = "adjoint") -> np.ndarray:
    """Per-unit CO2e of every product, Brightway's fastest way (FastScoresOnlyMultiLCA, adjoint)."""
    import bw2calc as bc

    dp = datapackage(network, gwp_set)
    demands = {str(j): {j: 1.0} for j in range(network.size)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lca = bc.FastScoresOnlyMultiLCA(demands=demands, method_config={"impact_categories": [("gwp",)]},
                                        data_objs=[dp], direction=direction)
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
