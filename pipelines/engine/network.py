"""The product network and its solve.

Tables (Polars), all amounts per reference output of the consuming process:
  processes     process_id, name, kind, unit, reference_amount (default 1), category
  technosphere  consumer, provider, amount (> 0: an input), stage, line_id, gsd2 (uncertainty of the amount)
  biosphere     process_id, gas, amount_kg (emission > 0, removal < 0), gsd2

Technology matrix A (n x n): A[j, j] = reference output of j, A[i, j] = - input of product i into j.
Intervention matrix B (gases x n). For a final demand f the supply is s = A^-1 f; the footprint of one
unit of every product at once is the adjoint solve  h = A^-T (B^T w)  for weights w (GWP), and per gas
h_g = A^-T B[g]^T: all gases in one multi-column solve, CO2e as their GWP-weighted sum.
Loops are exact (a linear system, not a tree walk); inputs with no producer are cut off (recorded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pipelines.common import gwp as gwp_module


class NetworkError(ValueError):
    """A singular or unproductive system, named by the processes involved."""


@dataclass
class Network:
    process_ids: list[str]
    names: list[str]
    A: sp.csc_matrix
    B: sp.csr_matrix
    gases: list[str]
    cut_off: pl.DataFrame = field(default_factory=pl.DataFrame)  # inputs with no producer in the network

    @cached_property
    def index(self) -> dict[str, int]:
        """process id -> its row/column, built when first asked for (the engine joins `positions` instead: a
        500,000-key dict was 0.25 s of every build at 10,000 uploads, issue 20)."""
        return {p: i for i, p in enumerate(self.process_ids)}

    @cached_property
    def positions(self) -> pl.DataFrame:
        return positions_frame(pl.Series(self.process_ids, dtype=pl.String))

    @property
    def size(self) -> int:
        return len(self.process_ids)


def positions_frame(ids: pl.Series) -> pl.DataFrame:
    """process id -> its row/column in the matrices, as a frame to join on (a join is ~6x faster than
    `replace_strict` with a dict at 1,000,000 processes: issue 20)."""
    return pl.DataFrame({"_id": ids.cast(pl.String), "_pos": pl.int_range(0, len(ids), eager=True, dtype=pl.Int64)})


def with_position(frame: pl.DataFrame, column: str, positions: pl.DataFrame, alias: str) -> pl.DataFrame:
    """`frame` with `alias` = the position of `column`'s process (null if it is not a process); row order kept."""
    return frame.join(positions.rename({"_id": column, "_pos": alias}), on=column, how="left", maintain_order="left")


def build(processes: pl.DataFrame, technosphere: pl.DataFrame, biosphere: pl.DataFrame) -> Network:
    ids = processes["process_id"].to_list()
    if len(set(ids)) != len(ids):
        dup = processes.filter(pl.col("process_id").is_duplicated())["process_id"].unique().to_list()[:5]
        raise NetworkError(f"process ids repeat: {dup}")
    n = len(ids)
    ref = (
        processes["reference_amount"].fill_null(1.0).to_numpy()
        if "reference_amount" in processes.columns
        else np.ones(n)
    )
    technosphere = technosphere.cast({"consumer": pl.String, "provider": pl.String, "amount": pl.Float64})
    biosphere = biosphere.cast({"process_id": pl.String, "gas": pl.String, "amount_kg": pl.Float64})
    positions = positions_frame(processes["process_id"])
    tech = with_position(with_position(technosphere, "provider", positions, "_i"), "consumer", positions, "_j")
    unknown_consumer = tech.filter(pl.col("_j").is_null())
    if unknown_consumer.height:
        raise NetworkError(
            f"technosphere rows name consumers that are not processes: "
            f"{unknown_consumer['consumer'].unique().to_list()[:5]}"
        )
    cut_off = tech.filter(pl.col("_i").is_null()).select("consumer", "provider", "amount")
    linked = tech.filter(pl.col("_i").is_not_null())
    rows = np.concatenate([np.arange(n), linked["_i"].to_numpy()])
    cols = np.concatenate([np.arange(n), linked["_j"].to_numpy()])
    vals = np.concatenate([ref, -linked["amount"].to_numpy()])
    A = sp.csc_matrix((vals, (rows, cols)), shape=(n, n))  # duplicates are summed (a self-input nets off)
    gases = sorted(biosphere["gas"].unique().to_list()) if biosphere.height else []
    g_index = {g: k for k, g in enumerate(gases)}
    bio = with_position(biosphere, "process_id", positions, "_j")
    if bio["_j"].null_count():
        raise NetworkError(
            f"biosphere rows name unknown processes: {bio.filter(pl.col('_j').is_null())['process_id'].to_list()[:5]}"
        )
    B = sp.csr_matrix(
        (bio["amount_kg"].to_numpy(), (bio["gas"].replace_strict(g_index).to_numpy(), bio["_j"].to_numpy())),
        shape=(len(gases), n),
    )
    names = processes["name"].to_list() if "name" in processes.columns else ids
    network = Network(ids, names, A, B, gases, cut_off)
    network.positions = positions  # the frame joined on above (a cached property: not built twice)
    return network


def gwp_weights(gases: list[str], gwp_set: str, given: dict[str, float] | None = None) -> np.ndarray:
    """kg CO2e per kg of each gas: from `given` (the release's factor_gas) where present, else the GWP set;
    'CO2e' (amounts already in CO2e: CO2e-only factors, suppliers' footprints) weighs 1."""
    given = given or {}
    return np.array(
        [
            given.get(g, 1.0 if g == "CO2e" else None) if g in given or g == "CO2e" else gwp_module.gwp(g, gwp_set)
            for g in gases
        ],
        dtype=float,
    )


class Solver:
    """Solves A^T x = rhs for many right-hand sides with one set-up.

    Chosen by measurement (docs/engine.md): real and realistic networks are productive and close to
    triangular (a core of energy, materials and transport with loops, a long tail that draws on it),
    where a direct LU fills in badly (SuperLU: 1.6 s at 10,000 processes, minutes at 100,000) while the
    Jacobi iteration x <- D^-1 (rhs + Z^T x) converges in a few dozen sparse products. So:
      1. iterate, all right-hand sides at once, until every component changes by less than 1e-15 of
         itself (a fixed point to machine precision, not a residual-norm heuristic), then check the
         residual per column;
      2. if it does not converge (negative inputs, strong loops) or diverges, factorise A^T once with
         SuperLU (COLAMD) and solve directly; the factorisation is kept for later solves.
    A singular system is named by its processes; `check_productive` tests that a unit of every product
    needs non-negative supplies.
    """

    def __init__(self, network: Network, method: str = "auto", max_iter: int = 2000):
        self.network = network
        self.method = method
        self.max_iter = max_iter
        self._check_structure()
        A = network.A.tocsr()
        self.d = A.diagonal()
        self.ZT = (sp.diags(self.d) - A).T.tocsr()  # Z: inputs between processes (>= 0 when all are inputs)
        self.lu: Any = None  # scipy's SuperLU once factorised
        self.used: str | None = None  # "jacobi" or "lu", for the record
        self.iterations = 0
        self._vouched = False
        if method == "lu":
            self._factorise()

    def _check_structure(self) -> None:
        A = self.network.A
        diag = A.diagonal()
        bad = np.flatnonzero(diag <= 0)
        if bad.size:
            names = [self.network.names[i] for i in bad[:5]]
            raise NetworkError(
                f"{bad.size} process(es) produce nothing or consume more of their own product than "
                f"they make (reference output <= 0 after self-inputs): {names}"
            )

    def _factorise(self) -> None:
        if self.lu is None:
            try:
                self.lu = spla.splu(self.network.A.T.tocsc(), permc_spec="COLAMD")
            except RuntimeError as exc:  # "Factor is exactly singular"
                raise NetworkError(f"the technology matrix is singular ({exc}); {self._suspects()}") from None

    def _suspects(self) -> str:
        """Which processes make a singular system singular: an empty column, or the loop that carries the
        solution of a slightly regularised system (A + 1e-9 D) to its largest values."""
        A = self.network.A.tocsc()
        counts = np.diff(A.indptr)
        empty = [self.network.names[j] for j in np.flatnonzero(counts == 0)[:5]]
        if empty:
            return f"processes with an empty column: {empty}"
        try:
            nudged = (A + 1e-9 * sp.diags(np.abs(A.diagonal()) + 1.0)).tocsc()
            v = spla.splu(nudged, permc_spec="COLAMD").solve(np.ones(self.network.size))
        except RuntimeError:
            return "check processes that only feed each other"
        return self._loop_names(v)

    def _jacobi(self, rhs: np.ndarray, x0: np.ndarray | None = None, ZT=None, d=None) -> np.ndarray | None:
        ZT = self.ZT if ZT is None else ZT
        d = self.d if d is None else d
        dd = d[:, None] if rhs.ndim == 2 else d
        x = rhs / dd if x0 is None else x0
        for it in range(1, self.max_iter + 1):
            nx = (rhs + ZT @ x) / dd
            change = np.abs(nx - x)
            x = nx
            if not np.all(np.isfinite(x)):
                return None
            if np.all(change <= 1e-15 * np.abs(x) + 1e-300):
                self.iterations = it
                return x
        return None

    def solve_adjoint(self, rhs: np.ndarray) -> np.ndarray:
        """x with A^T x = rhs (rhs n, or n x k): per-unit footprints of every product at once.

        Every answer is vouched for before it is returned: its residual is checked, and the supplies the
        network implies (a unit of every product, inputs only) must be finite, not astronomically large
        (a loop that is singular up to rounding) and not negative (a loop that needs more than one unit of
        a product to make one); otherwise NetworkError names the processes involved."""
        rhs = np.asarray(rhs, dtype=float)
        self.vouch()
        x: np.ndarray | None = None
        if self.method in ("auto", "jacobi") and self.lu is None:
            x = self._jacobi(rhs)
            if x is not None and self._residual_ok(x, rhs):
                self.used = "jacobi"
                return x
            if self.method == "jacobi":
                raise NetworkError(
                    "the Jacobi iteration did not converge: the system may be unproductive; "
                    "use the direct solver (method='lu') to locate the processes"
                )
            # slow convergence (strong loops): a Krylov method with the Jacobi preconditioner, checked
            x = self._krylov(rhs)
            if x is not None:
                self.used = "bicgstab"
                return x
        self._factorise()
        x = self.lu.solve(rhs)
        for _ in range(3):  # iterative refinement: small per-gas entries keep their accuracy
            if not np.all(np.isfinite(x)) or self._residual_ok(x, rhs, 1e-14):
                break
            x = x + self.lu.solve(rhs - self.network.A.T @ x)
        if not np.all(np.isfinite(x)) or not self._residual_ok(x, rhs, 1e-10):
            raise NetworkError(
                f"the direct solve is inaccurate: the system is numerically singular; {self._loop_names(x)}"
            )
        self.used = "lu"
        return x

    def _krylov(self, rhs: np.ndarray) -> np.ndarray | None:
        AT = self.network.A.T.tocsr()
        inv_d = 1.0 / self.d
        M = spla.LinearOperator(AT.shape, matvec=lambda v: inv_d * v)
        cols = rhs[:, None] if rhs.ndim == 1 else rhs
        out = np.empty_like(cols)
        for k in range(cols.shape[1]):
            b = cols[:, k]
            if not np.any(b):
                out[:, k] = 0.0
                continue
            x, info = spla.bicgstab(AT, b, x0=b * inv_d, M=M, rtol=1e-15, atol=0.0, maxiter=20 * self.max_iter)
            if info != 0 and not self._residual_ok(x, b):
                return None
            out[:, k] = x
        x = out[:, 0] if rhs.ndim == 1 else out
        return x if np.all(np.isfinite(x)) and self._residual_ok(x, rhs) else None

    def solve_perturbed(self, d: np.ndarray, ZT: sp.csr_matrix, rhs: np.ndarray, x0: np.ndarray) -> np.ndarray:
        """A Monte Carlo draw: A_i^T x = rhs where A_i is the base matrix with perturbed amounts. Jacobi from
        the base answer first; else BiCGSTAB preconditioned with the base factorisation (or the diagonal):
        no factorisation per draw. A direct solve only if neither converges.

        Each draw is vouched for like the base solve: a converged Jacobi iteration proves the drawn network
        productive (a non-negative Z with spectral radius below 1) and its fixed point finite; any other path
        must pass the residual check and give finite, non-negative supplies for a unit of every product
        (one more preconditioned solve), else NetworkError names the processes of the loop."""
        x = self._jacobi(rhs, x0=x0, ZT=ZT, d=d) if self.used == "jacobi" else None
        if x is not None and (ZT.data >= 0).all():
            return x
        AT = (sp.diags(d) - ZT).tocsr()
        if self.lu is not None:
            M = spla.LinearOperator(AT.shape, matvec=self.lu.solve)
            MT = spla.LinearOperator(AT.shape, matvec=lambda v: self.lu.solve(v, trans="T"))
        else:
            M = spla.LinearOperator(AT.shape, matvec=lambda v: v / d)
            MT = M
        if x is None:
            x, info = spla.bicgstab(AT, rhs, x0=x0, M=M, rtol=1e-13, atol=0.0, maxiter=2000)
            if info != 0 or not self._draw_ok(AT, x, rhs):
                x = spla.spsolve(AT.tocsc(), rhs)
        if not self._draw_ok(AT, x, rhs):
            raise NetworkError(f"a Monte Carlo draw has no accurate solution; {self._loop_names(x)}")
        # the supplies of the drawn network: A_i s = 1 (inputs only), finite and non-negative
        A_i = AT.T.tocsr()
        ones = np.ones(A_i.shape[0])
        s, info = spla.bicgstab(A_i, ones, x0=ones / d, M=MT, rtol=1e-10, atol=0.0, maxiter=2000)
        if info != 0 or not np.all(np.isfinite(s)) or s.min() < -1e-9 or s.max() > 1e12:
            raise NetworkError(f"a Monte Carlo draw makes the network unproductive; {self._loop_names(s)}")
        return x

    @staticmethod
    def _draw_ok(AT, x: np.ndarray, rhs: np.ndarray) -> bool:
        if not np.all(np.isfinite(x)):
            return False
        r = AT @ x - rhs
        return bool(np.all(np.abs(r) <= 1e-10 * (np.abs(AT) @ np.abs(x) + np.abs(rhs)) + 1e-300))

    def _loop_names(self, v: np.ndarray | None = None, k: int = 8) -> str:
        """The processes that carry the largest values of a solve gone wrong: the loop to look at."""
        if v is None or not np.all(np.isfinite(v)):
            return self._suspects()
        mag = np.abs(v).reshape(self.network.size, -1).max(axis=1)
        top = [i for i in np.argsort(-mag)[:k] if mag[i] >= 1e-3 * mag.max()]
        return "processes involved: " + ", ".join(self.network.names[i] for i in top)

    def vouch(self) -> None:
        """Once per solver: the supplies for a unit of every product, inputs only (credits, i.e. negative
        inputs for avoided products, do not make a loop productive), must be finite, below 1e12 per unit of
        demand and not negative."""
        if getattr(self, "_vouched", False):
            return
        A = self.network.A.tocsr()
        Zp = (sp.diags(self.d) - A).tocsr()
        Zp.data = np.maximum(Zp.data, 0.0)
        Ap = (sp.diags(self.d) - Zp).tocsr()
        ones = np.ones(self.network.size)
        s = None
        x = ones / self.d
        for _ in range(self.max_iter):  # Jacobi on A+ s = 1 (converges for productive, not-too-loopy networks)
            nx = (ones + Zp @ x) / self.d
            if not np.all(np.isfinite(nx)) or nx.max() > 1e13:
                break
            done = np.all(np.abs(nx - x) <= 1e-13 * np.abs(nx) + 1e-300)
            x = nx
            if done:
                s = x
                break
        if s is None:
            M = spla.LinearOperator(Ap.shape, matvec=lambda v: v / self.d)
            cand, info = spla.bicgstab(
                Ap, ones, x0=ones / self.d, M=M, rtol=1e-13, atol=0.0, maxiter=20 * self.max_iter
            )
            r = Ap @ cand - ones
            if info == 0 and np.all(np.isfinite(cand)) and np.abs(r).max() <= 1e-9 * (np.abs(Ap) @ np.abs(cand)).max():
                s = cand
        if s is None:
            try:
                s = spla.splu(Ap.tocsc(), permc_spec="COLAMD").solve(ones)
            except RuntimeError as exc:
                raise NetworkError(f"the technology matrix is singular ({exc}); {self._suspects()}") from None
        if not np.all(np.isfinite(s)) or np.abs(s).max() > 1e12:
            raise NetworkError(
                "the system is numerically singular (a loop that makes exactly, up to rounding, what it needs "
                f"of itself): supplies of order {np.nanmax(np.abs(s)):.3g} per unit; {self._loop_names(s)}"
            )
        if s.min() < -1e-9:
            bad = np.argsort(s)[:8]
            names = [self.network.names[i] for i in bad if s[i] < -1e-9]
            raise NetworkError(
                f"the system is unproductive (a loop needs more than one unit of a product to make one): "
                f"negative supply for {names}"
            )
        self._vouched = True

    def _residual_ok(self, x: np.ndarray, rhs: np.ndarray, tol: float = 1e-12) -> bool:
        r = self.network.A.T @ x - rhs
        scale = np.abs(self.network.A.T).dot(np.abs(x)) + np.abs(rhs) + 1e-300
        return bool(np.all(np.abs(r) <= tol * scale))

    def check_productive(self) -> None:
        """Every product must need non-negative supplies (inputs only): see `vouch`."""
        self._vouched = False
        self.vouch()


@dataclass
class Footprints:
    co2e: np.ndarray  # kg CO2e per unit of each process's reference product
    per_gas: np.ndarray  # gases x n, kg of gas per unit
    gases: list[str]
    weights: np.ndarray


def solve_footprints(
    network: Network, gwp_set: str, solver: Solver | None = None, weights: dict[str, float] | None = None
) -> Footprints:
    solver = solver or Solver(network)
    if not network.gases:
        zeros = np.zeros(network.size)
        return Footprints(zeros, np.zeros((0, network.size)), [], np.zeros(0))
    w = gwp_weights(network.gases, gwp_set, weights)
    per_gas = solver.solve_adjoint(network.B.T.toarray()).T
    return Footprints(w @ per_gas, per_gas, network.gases, w)


def stage_split(network: Network, technosphere: pl.DataFrame, footprint: np.ndarray) -> dict[str, np.ndarray]:
    """Upstream footprint of every process split by the life-cycle stage of the input that brings it in:
    for each stage s, (Z_s^T h)[j] = sum over j's inputs of stage s of amount x footprint of the provider.
    One sparse product per stage, no further solve. A process's own emissions (B^T w) are not in any
    input's stage; the caller puts them in its own stage. `footprint` may be n or n x k (per gas)."""
    positions = positions_frame(pl.Series(network.process_ids))
    t = (
        with_position(
            with_position(
                technosphere.cast({"consumer": pl.String, "provider": pl.String}), "provider", positions, "i"
            ),
            "consumer",
            positions,
            "j",
        )
        .select(
            "i",
            "j",
            pl.col("amount").cast(pl.Float64),
            pl.col("stage").fill_null("unspecified")
            if "stage" in technosphere.columns
            else pl.lit("unspecified").alias("stage"),
        )
        .drop_nulls(["i", "j"])
    )
    n = network.size
    out = {}
    for (stage,), part in sorted(t.group_by("stage"), key=lambda kv: kv[0]):
        Z = sp.csr_matrix((part["amount"].to_numpy(), (part["j"].to_numpy(), part["i"].to_numpy())), shape=(n, n))
        out[stage] = Z @ footprint
    return out
