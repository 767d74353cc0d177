"""The activity matcher: a description as an enterprise writes it ("0#柴油", "外购电力", "天然气(万Nm³)",
"冷轧钢板 DC01", "PP粒料", "R-134a 补充量", "lorry 40t diesel"), a unit, a geography and a year ->
ranked candidate factors with a score and the reason.

How a candidate is scored (docs/matching.md):

1. **Concept.** The lexicon (pipelines/reference/activity_lexicon.csv) names concepts in Chinese and
   English with grades, trade names and abbreviations, and says which factors represent each (activity key,
   the source's own classification code: UK DESNZ category, fuel and refrigerant keys; or the name, for
   the CPCD products). That is how a factor without an activity key is matchable by meaning. A factor of a
   concept named in the description scores 0.6 + 0.4 x its text similarity.
2. **Text.** TF-IDF cosine over character unigrams/bigrams (Chinese) and words plus word trigrams
   (English), blended with rapidfuzz's WRatio on the best few: any other factor scores 0.95 x that.
3. **Unit.** Only factors whose unit the line's unit converts to qualify: same dimension (pint), a fuel
   between mass, volume and energy through its net calorific value and density (pipelines/common/fuels.py,
   the value used is stated), a count through a declared mass per unit. A unit that cannot reach any
   candidate is a clear error naming what is missing.
4. **Choice among equals.** Candidates within 0.05 of the best score are the same activity for the line;
   among them the one precedence of pipelines/matching/selection.py decides (purpose, place in the
   geography chain, steward regional factor, authority, year, specificity, DQR).

A best score below the threshold (PCF_MATCH_THRESHOLD, default 0.6) is an abstention: intake sets the line
aside for a steward instead of guessing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from rapidfuzz import fuzz
from scipy import sparse

from pipelines.common import units
from pipelines.matching import selection
from pipelines.matching.text import Concept, Hit, Lexicon, features, load_lexicon, normalise

CONCEPT_BASE = 0.6
NON_CONCEPT_CAP = 0.95
NEAR_BEST = 0.02
FUZZ_TOP = 8
TEXT_POOL = 300
STOP_SHARE = 0.05
FUZZY_PENALTY = 0.05  # a concept found through a one-character typo
NAMED_OTHER = 0.7  # factors outside the concept a description names
SECONDARY = 0.1  # factors of a further concept in the same description
# Concepts whose factors are all the same activity (a fuel, grid electricity, heat, water): which member
# fits best is a question of place, year and authority (the selection precedence), not of wording.
HOMOGENEOUS = {"fuel", "electricity", "heat", "water"}
COLUMNS = [
    "factor_id",
    "name_zh",
    "name_en",
    "classification_code",
    "activity_key",
    "unit",
    "source_id",
    "geography_code",
    "reference_year",
    "authority",
    "dqr",
    "factor_purpose",
    "co2e_kg",
    "steward_status",
]
# a unit written into the description: "天然气(万Nm³)", "柴油/t", "蒸汽（吨）"; only read when no unit is given
_UNIT_IN_TEXT = re.compile(r"(?:[\(（\[]\s*([^\)）\]]{1,12})\s*[\)）\]]|/\s*([^\s/]{1,8}))\s*$")


class MatchUnitError(ValueError):
    """The line's unit cannot reach any candidate: names the property the warehouse lacks."""


@dataclass
class Candidate:
    factor_id: str
    name_zh: str | None
    name_en: str | None
    activity_key: str | None
    unit: str
    source_id: str
    geography_code: str | None
    reference_year: int | None
    score: float
    why: tuple = field(repr=False, default=())  # what the reason is written from (written when asked)
    row: dict = field(repr=False, default_factory=dict)
    matcher: "Matcher | None" = field(repr=False, default=None)

    @property
    def reason(self) -> str:
        """Which words (concept and term), the text similarity, the unit path, the geography step, the year."""
        return self.matcher._reason(self.row, *self.why) if self.matcher else ""


@dataclass
class MatchResult:
    text: str
    unit: str | None
    candidates: list[Candidate]
    confident: bool
    concepts: list[str]
    note: str = ""

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def _dimension(unit: str) -> str:
    return units._normalise_dimension(units.unit_info(unit).dimension)


def usable_factors(factors: pl.DataFrame) -> pl.DataFrame:
    """The factors a line may be matched or mapped to: with a CO2e value, not rejected or deprecated."""
    usable = factors.filter(pl.col("co2e_kg").is_not_null())
    if "steward_status" in usable.columns:
        usable = usable.filter(~pl.col("steward_status").is_in(["rejected", "deprecated"]))
    return usable


class Matcher:
    """Built once per release (factor table + fuel_property); `match` is a few hundred microseconds, and
    identical lines in a batch are answered from a cache."""

    def __init__(
        self,
        factors: pl.DataFrame,
        fuel_property: pl.DataFrame | None = None,
        lexicon: Lexicon | None = None,
        threshold: float | None = None,
    ):
        from pipelines.common.fuels import fuels_from
        from pipelines.config import settings

        self.threshold = settings().match_threshold if threshold is None else threshold
        self.lexicon = lexicon or load_lexicon()
        self.fuels = fuels_from(fuel_property)
        usable = usable_factors(factors)
        for c in COLUMNS:
            if c not in usable.columns:
                usable = usable.with_columns(pl.lit(None).alias(c))
        numeric = {"reference_year": pl.Int64, "dqr": pl.Float64, "co2e_kg": pl.Float64}
        usable = usable.select([pl.col(c).cast(numeric.get(c, pl.String)) for c in COLUMNS]).sort("factor_id")
        self._frame = usable
        self.n = usable.height
        # Text and concepts are judged per distinct description (name, English name, textual classification,
        # activity key): a 1,000,000-row literature upload of one product type is one document, not a million.
        textual_code = (
            pl.when(pl.col("classification_code").str.contains("[A-Za-z]"))
            .then(pl.col("classification_code"))
            .otherwise(None)
        )
        keyed = usable.select(
            pl.col("name_zh").fill_null(""),
            pl.col("name_en").fill_null(""),
            textual_code.fill_null("").alias("classification_code"),
            pl.col("activity_key").fill_null(""),
        )
        docs = keyed.unique(maintain_order=True).with_row_index("doc")
        self._doc_of = (
            keyed.join(docs, on=keyed.columns, how="left", maintain_order="left")["doc"].to_numpy().astype(np.intp)
        )
        self._docs = docs
        self.n_docs = docs.height
        self._names = [normalise(f"{a} {b}") for a, b in zip(docs["name_zh"].to_list(), docs["name_en"].to_list())]
        self._members = self._concept_members(docs)
        self._build_tfidf(docs)
        unit_of = usable["unit"].to_list()
        self._unit_dims: dict[str, str | None] = {}
        for u in set(unit_of):
            try:
                self._unit_dims[u] = _dimension(u)
            except units.UnitError:
                self._unit_dims[u] = None
        dims = {u: d or "" for u, d in self._unit_dims.items()}
        self._dims = np.array([dims[u] for u in unit_of], dtype=object)
        self._units = np.array(unit_of, dtype=object)
        self._compat_cache: dict[tuple[str, bool], np.ndarray] = {}
        keys = usable["activity_key"].to_list()
        self._keys = np.array([k or "" for k in keys], dtype=object)
        self._fuel_rows = [i for i, k in enumerate(keys) if k in self.fuels]
        self._fuel_path_cache: dict[tuple[str, str, str], bool] = {}
        # the parts of the selection precedence that do not depend on the line (selection.key): arrays
        col = usable.get_column
        self._co2_only = col("factor_purpose").is_in(list(selection.CO2_ONLY_PURPOSES)).fill_null(False).to_numpy()
        self._regional = (col("source_id") == selection.REGIONAL_SOURCE).fill_null(False).to_numpy()
        self._authority = (
            col("authority").replace_strict(selection.AUTHORITY_RANK, default=5, return_dtype=pl.Int64).to_numpy()
        )
        self._year = col("reference_year").fill_null(-9999).cast(pl.Int64).to_numpy()
        self._dqr = col("dqr").cast(pl.Float64).fill_null(5.0).to_numpy()
        self._geo = np.array(col("geography_code").fill_null("").to_list(), dtype=object)
        self._step_cache: dict[str | None, np.ndarray] = {}
        self._steps_cache: dict[str | None, dict[str, str]] = {}
        self._cache: dict[tuple, MatchResult] = {}
        self._member_rows_cache: dict[str, np.ndarray] = {}
        self._row_cache: dict[int, dict] = {}

    def _member_rows(self, concept: str) -> np.ndarray:
        """The factor rows of a concept (from its documents; computed once per concept)."""
        got = self._member_rows_cache.get(concept)
        if got is None:
            docs = self._members.get(concept)
            got = np.flatnonzero(np.isin(self._doc_of, docs)) if docs is not None and docs.size else np.empty(0, int)
            self._member_rows_cache[concept] = got
        return got

    def row(self, i: int) -> dict:
        """One factor's columns (built on demand: only candidates are ever turned into dicts)."""
        got = self._row_cache.get(int(i))
        if got is None:
            got = self._row_cache[int(i)] = self._frame.row(int(i), named=True)
        return got

    # ---------------------------------------------------------------------------------------- index
    def _concept_members(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        """Concept -> indices of its documents (the classification the lexicon gives every factor it reaches)."""
        zh = pl.col("name_zh")
        en = pl.col("name_en").str.to_lowercase()
        code = pl.col("classification_code")
        out = {}
        for c in self.lexicon.concepts:
            conds = []
            for kind, value in c.targets:
                if kind == "key":
                    conds.append(pl.col("activity_key") == value)
                elif kind == "code":  # a prefix ending at a word boundary: "HCFC-22" is not "HCFC-225ca"
                    conds.append(code.str.contains("^" + re.escape(value) + "(?:$|[^0-9A-Za-z])"))
                elif kind == "zh=":
                    conds.append(zh == value)
                elif kind == "zh":
                    conds.append(zh.str.contains(value, literal=True))
                elif kind == "en":
                    conds.append(en.str.contains(value.lower(), literal=True))
            # a product named exactly as one of the concept's words is a member too (CPCD's "柴油", "瓦楞纸箱")
            # (not for refrigerants: a product "二氟甲烷" is making the gas, not its leak from a system)
            words = [w for w in c.terms if not w.isascii()] if c.kind != "refrigerant" else []
            if words:
                conds.append(zh.str.replace_all(" ", "").str.to_lowercase().is_in(words))
            mask = frame.select(pl.any_horizontal(conds).fill_null(False)).to_series().to_numpy()
            out[c.concept] = np.flatnonzero(mask)
        return out

    def _build_tfidf(self, docs_frame: pl.DataFrame) -> None:
        docs = [
            features(normalise(f"{a} {b} {c} {k.replace('.', ' ').replace('_', ' ')}"))
            for a, b, c, k in docs_frame.select("name_zh", "name_en", "classification_code", "activity_key").iter_rows()
        ]
        vocab: dict[str, int] = {}
        df: dict[int, int] = {}
        rows, cols, vals = [], [], []
        for i, d in enumerate(docs):
            for f, tf in d.items():
                j = vocab.setdefault(f, len(vocab))
                df[j] = df.get(j, 0) + 1
                rows.append(i)
                cols.append(j)
                vals.append(1.0 + math.log(tf))
        n = len(docs)
        self.vocab = vocab
        self.idf = np.ones(len(vocab))
        self._stop = np.zeros(len(vocab), dtype=bool)
        for j, k in df.items():
            self.idf[j] = math.log((n + 1) / (k + 1)) + 1.0
            self._stop[j] = k > STOP_SHARE * n and n > 200
        m = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(vocab)))
        m = m.multiply(self.idf).tocsr()
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        doc_t = (sparse.diags(1.0 / norms) @ m).T.tocsr()
        # feature -> (documents, weights): a query adds up only its own features' postings
        self._postings = [
            (doc_t.indices[doc_t.indptr[j] : doc_t.indptr[j + 1]], doc_t.data[doc_t.indptr[j] : doc_t.indptr[j + 1]])
            for j in range(len(vocab))
        ]

    # ---------------------------------------------------------------------------------------- units
    def _compatible(self, unit: str | None, declared_mass: bool) -> tuple[np.ndarray | None, str | None]:
        """Boolean mask of factors the line's unit converts to (None: no unit given, all qualify)."""
        if not unit:
            return None, None
        key = (unit, declared_mass)
        if key not in self._compat_cache:
            dim = _dimension(unit)  # UnitError: the caller reports the unknown unit
            ok = self._dims == dim
            if declared_mass and dim == "[count]":
                ok |= self._dims == "[mass]"
            for i in self._fuel_rows:  # a fuel in another dimension, through its NCV (and density)
                if not ok[i] and self._fuel_path(self._keys[i], unit, self._units[i]):
                    ok[i] = True
            self._compat_cache[key] = ok
        return self._compat_cache[key], _dimension(unit)

    def _fuel_path(self, key: str, unit: str, target: str) -> bool:
        from pipelines.matching.lines import _fuel_converts

        k = (key, unit, target)
        got = self._fuel_path_cache.get(k)
        if got is None:
            got = self._fuel_path_cache[k] = _fuel_converts(self.fuels[key], unit, target)
        return got

    # ---------------------------------------------------------------------------------------- match
    def match(
        self,
        text: str,
        unit: str | None = None,
        geography_code: str | None = None,
        year: int | None = None,
        top: int = 5,
        mass_per_unit_kg: float | None = None,
    ) -> MatchResult:
        key = (text, unit, geography_code, year, top, mass_per_unit_kg is not None)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._match(text, unit, geography_code, year, top, mass_per_unit_kg)
        return hit

    def _match(self, text, unit, geography_code, year, top, mass_per_unit_kg) -> MatchResult:
        norm = normalise(text)
        hint = None
        m = None if unit else _UNIT_IN_TEXT.search(norm)
        if m:
            word = (m.group(1) or m.group(2) or "").strip()
            try:
                units.unit_info(word)
                hint = word
                norm = norm[: m.start()].strip() or norm
            except units.UnitError:
                pass
        unit = unit or hint
        hits = self.lexicon.find(norm)
        fuzzy = False
        if not hits:  # a typo in a concept's word ("冷扎钢板", "聚丙稀"): one character off, weaker evidence
            hits = self.lexicon.find_fuzzy(norm)
            fuzzy = bool(hits)
        try:
            compat, dim = self._compatible(unit, mass_per_unit_kg is not None)
        except units.UnitError as exc:
            raise MatchUnitError(f"unit '{unit}' is not known: {exc}") from None
        # text: cosine of the description against every factor (only its features' rows are touched)
        cos_doc = np.zeros(self.n_docs)
        q = features(norm)
        # features in more than STOP_SHARE of all names ("of", "per", 因子) separate nothing and cost most
        idx = [(j, w) for f, w in q.items() if (j := self.vocab.get(f)) is not None and not self._stop[j]]
        if idx:
            w = np.array([(1.0 + math.log(v)) * self.idf[j] for j, v in idx])
            w /= np.linalg.norm(w)
            for (j, _), wj in zip(idx, w):
                docs, vals = self._postings[j]
                cos_doc[docs] += wj * vals

        # the hit that leads: one whose factors the unit reaches, not inside a longer term, the longest
        def reach(h: Hit) -> bool:
            rows = self._member_rows(h.concept.concept)
            return rows.size > 0 and (compat is None or bool(compat[rows].any()))

        hits = sorted(hits, key=lambda h: (not reach(h), h.shadowed, -len(h.term)))
        if hits and not hits[0].shadowed:  # the longer term leads: the words inside it are not evidence
            hits = [h for h in hits if not h.shadowed]
        # concept: which hit (if any) each document belongs to
        member_doc = np.full(self.n_docs, -1)
        for k, h in enumerate(hits):
            ids = self._members.get(h.concept.concept)
            if ids is not None and ids.size:
                free = ids[member_doc[ids] < 0]
                member_doc[free] = k
        # candidates: the concept's documents and the documents closest in wording (a common character such
        # as 油 touches thousands of names; the few hundred closest are all that can win on text)
        near_text = np.flatnonzero(cos_doc > 0)
        if near_text.size > TEXT_POOL:
            near_text = near_text[np.argpartition(-cos_doc[near_text], TEXT_POOL)[:TEXT_POOL]]
        doc_pick = member_doc >= 0
        doc_pick[near_text] = True
        pick = doc_pick[self._doc_of]
        pool = np.flatnonzero(pick)
        kept = pool[compat[pool]] if compat is not None else pool
        if kept.size == 0:
            return MatchResult(
                text, unit, [], False, [h.concept.concept for h in hits], self._why_none(pool, unit, dim)
            )
        kept_doc = self._doc_of[kept]
        cos_k = cos_doc[kept_doc]
        member_k = member_doc[kept_doc]
        base = CONCEPT_BASE - (FUZZY_PENALTY if fuzzy else 0.0)
        # a description that names a concept is about that concept: other factors count for less
        cap = NON_CONCEPT_CAP * (NAMED_OTHER if hits else 1.0)
        # the leading hit's factors start at `base`, a further concept's a step lower
        base_of = np.where(member_k > 0, base - SECONDARY, base)
        final = np.where(member_k >= 0, base_of + (1 - base_of) * cos_k, cap * cos_k)
        # rapidfuzz on the best few: typos and word order
        head = kept.size if kept.size <= FUZZ_TOP else None
        order = np.arange(kept.size) if head else np.argpartition(-final, FUZZ_TOP)[:FUZZ_TOP]
        for o in order:
            t_ = 0.75 * cos_k[o] + 0.25 * fuzz.token_set_ratio(norm, self._names[kept_doc[o]]) / 100.0
            final[o] = base_of[o] + (1 - base_of[o]) * t_ if member_k[o] >= 0 else cap * t_
        for k, h in enumerate(hits):  # every member of a homogeneous concept scores as its best-worded member
            if h.concept.kind in HOMOGENEOUS:
                same = member_k == k
                if same.any():
                    final[same] = final[same].max()
        best = float(final.max())
        near = np.flatnonzero(final >= best - NEAR_BEST)
        steps = self._steps(geography_code)
        reporting_year = year or 2025
        ranked = list(self._by_precedence(kept[near], near, geography_code, steps, reporting_year))
        if len(ranked) < top:
            rest = np.flatnonzero(final < best - NEAR_BEST)
            rest = rest[np.argsort(-final[rest], kind="stable")][: top - len(ranked)]
            ranked += [int(o) for o in rest]
        out = []
        for o in ranked[:top]:
            i = int(kept[o])
            r = self.row(i)
            hit = hits[member_k[o]] if member_k[o] >= 0 else None
            out.append(
                Candidate(
                    r["factor_id"],
                    r["name_zh"],
                    r["name_en"],
                    r["activity_key"],
                    r["unit"],
                    r["source_id"],
                    r["geography_code"],
                    r["reference_year"],
                    round(float(final[o]), 3),
                    (hit, fuzzy, float(cos_k[o]), unit, dim, steps),
                    r,
                    self,
                )
            )
        confident = bool(out) and out[0].score >= self.threshold
        return MatchResult(text, unit, out, confident, [h.concept.concept for h in hits])

    def _by_precedence(self, idx: np.ndarray, pos: np.ndarray, geography_code, steps: dict[str, str], year: int):
        """pos (positions in `kept`) of the candidates idx ordered by selection.key, vectorised."""
        step = self._step_ranks(geography_code, steps)[idx]
        life_cycle = bool((~self._co2_only[idx]).any())
        y = self._year[idx]
        gap = np.where(y == -9999, 99, np.abs(year - y))
        later = (y > year) & (y != -9999)
        steward_here = self._regional[idx] & (step <= 1)
        # np.lexsort sorts by the last key first: the precedence of selection.key read backwards; rows are
        # sorted by factor_id, so the row index is the final tie-break by id
        keys = (
            idx,
            self._dqr[idx],
            step,
            later,
            gap,
            self._authority[idx],
            ~steward_here,
            step == 4,
            self._co2_only[idx] & life_cycle,
        )
        return pos[np.lexsort(keys)]

    def _step_ranks(self, geography_code, steps: dict[str, str]) -> np.ndarray:
        got = self._step_cache.get(geography_code)
        if got is None:
            got = np.full(self.n, selection.STEP_RANK["other"])
            for code, step in steps.items():
                got[self._geo == code] = selection.STEP_RANK[step]
            self._step_cache[geography_code] = got
        return got

    def _steps(self, geography_code: str | None) -> dict[str, str]:
        got = self._steps_cache.get(geography_code)
        if got is None:
            got = self._steps_cache[geography_code] = self._chain_steps(geography_code)
        return got

    def _chain_steps(self, geography_code: str | None) -> dict[str, str]:
        from pipelines.matching.lines import geography_steps

        return geography_steps(geography_code)

    def _reason(self, r: dict, hit: Hit | None, fuzzy: bool, cos: float, unit, dim, steps) -> str:
        parts = []
        if hit is not None:
            how = "near term" if fuzzy else "term"
            parts.append(f"concept {hit.concept.concept} ({how} '{hit.term}')")
        parts.append(f"text {cos:.2f}")
        if unit:
            if self._unit_dims.get(r["unit"]) == dim:
                parts.append(f"unit {unit} -> {r['unit']}")
            elif r["activity_key"] in self.fuels:
                fuel = self.fuels[r["activity_key"]]
                parts.append(
                    f"unit {unit} -> {r['unit']} via NCV {fuel.ncv_gj:g} GJ/{fuel.physical_unit} ({fuel.source})"
                )
            else:
                parts.append(f"unit {unit} -> {r['unit']} via declared mass per unit")
        step = steps.get(r["geography_code"], "other") if steps else "not asked"
        parts.append(f"geography {r['geography_code']} ({step})")
        if r["reference_year"] is not None:
            parts.append(f"year {r['reference_year']}")
        return "; ".join(parts)

    def _why_none(self, cand: np.ndarray, unit: str | None, dim: str | None) -> str:
        if cand.size == 0:
            return "no factor shares a word or a concept with the description"
        units_seen = sorted({str(self._units[int(i)]) for i in cand[:200]})
        fuel = next((self._keys[int(i)] for i in cand if self._keys[int(i)] in self.fuels), None)
        if dim in ("[currency_cny]",) or (dim or "").startswith("[currency"):
            return (
                f"candidates are in {', '.join(units_seen[:5])}; a spend in {unit} needs an exchange rate and price "
                f"deflator to those currencies, which the warehouse does not hold: give a physical quantity"
            )
        if fuel:
            return (
                f"candidates are in {', '.join(units_seen[:5])}; {unit} does not convert: {fuel} has no density in "
                f"pipelines/reference/fuel_density.csv and no net calorific value path for {unit}"
            )
        if dim == "[count]":
            return (
                f"candidates are in {', '.join(units_seen[:5])}; a count ({unit}) needs the mass per unit "
                f"(declare mass_kg_per_unit on the line)"
            )
        return f"candidates are in {', '.join(units_seen[:5])}; none converts from {unit} ({dim})"

    def match_many(self, items: list[dict], top: int = 3) -> list[MatchResult]:
        return [
            self.match(
                it["text"],
                it.get("unit") or None,
                it.get("geography") or None,
                int(it["year"]) if it.get("year") else None,
                top,
            )
            for it in items
        ]


def concept_table(matcher: Matcher) -> pl.DataFrame:
    """Every factor with the concepts the lexicon gives it (the classification used for matching)."""
    rows = []
    ids = matcher._frame["factor_id"].to_numpy()
    for concept, members in matcher._members.items():
        for i in np.flatnonzero(np.isin(matcher._doc_of, members)):
            rows.append({"factor_id": ids[i], "concept": concept})
    return pl.DataFrame(rows, schema={"factor_id": pl.String, "concept": pl.String})


__all__ = ["Candidate", "Concept", "Matcher", "MatchResult", "MatchUnitError", "concept_table"]
