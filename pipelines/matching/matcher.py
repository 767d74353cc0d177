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

from pipelines.common import geography, units
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
        usable = factors.filter(pl.col("co2e_kg").is_not_null())
        if "steward_status" in usable.columns:
            usable = usable.filter(~pl.col("steward_status").is_in(["rejected", "deprecated"]))
        for c in COLUMNS:
            if c not in usable.columns:
                usable = usable.with_columns(pl.lit(None).alias(c))
        usable = usable.select(COLUMNS).sort("factor_id")
        self.rows = usable.to_dicts()
        self.n = len(self.rows)
        self._names = [normalise(f"{r['name_zh'] or ''} {r['name_en'] or ''}") for r in self.rows]
        self._members = self._concept_members(usable)
        self._build_tfidf(usable)
        unit_of = usable["unit"].to_list()
        self._unit_dims: dict[str, str | None] = {}
        for u in set(unit_of):
            try:
                self._unit_dims[u] = _dimension(u)
            except units.UnitError:
                self._unit_dims[u] = None
        self._dims = np.array([self._unit_dims.get(u) or "" for u in unit_of], dtype=object)
        self._compat_cache: dict[tuple[str, bool], np.ndarray] = {}
        self._fuel_rows = [i for i, r in enumerate(self.rows) if r["activity_key"] in self.fuels]
        self._fuel_path_cache: dict[tuple[str, str, str], bool] = {}
        # the parts of the selection precedence that do not depend on the line (selection.key): arrays
        self._co2_only = np.array([r["factor_purpose"] in selection.CO2_ONLY_PURPOSES for r in self.rows])
        self._regional = np.array([r["source_id"] == selection.REGIONAL_SOURCE for r in self.rows])
        self._authority = np.array([selection.AUTHORITY_RANK.get(r["authority"] or "", 5) for r in self.rows])
        self._year = np.array([r["reference_year"] if r["reference_year"] is not None else -9999 for r in self.rows])
        self._dqr = np.array([r["dqr"] if r["dqr"] is not None else 5.0 for r in self.rows], dtype=float)
        self._geo = np.array([r["geography_code"] or "" for r in self.rows], dtype=object)
        self._ids = np.array([r["factor_id"] for r in self.rows])
        self._step_cache: dict[str | None, np.ndarray] = {}
        self._steps_cache: dict[str | None, dict[str, str]] = {}
        self._cache: dict[tuple, MatchResult] = {}

    # ---------------------------------------------------------------------------------------- index
    def _concept_members(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        """Concept -> indices of its factors (the classification the lexicon gives every factor it reaches)."""
        zh = pl.col("name_zh").fill_null("")
        en = pl.col("name_en").fill_null("").str.to_lowercase()
        code = pl.col("classification_code").fill_null("")
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

    def _build_tfidf(self, frame: pl.DataFrame) -> None:
        docs = []
        for r in self.rows:
            key = (r["activity_key"] or "").replace(".", " ").replace("_", " ")
            docs.append(
                features(normalise(f"{r['name_zh'] or ''} {r['name_en'] or ''} {r['classification_code'] or ''} {key}"))
            )
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
        self.vocab = vocab
        self.idf = np.ones(len(vocab))
        self._stop = np.zeros(len(vocab), dtype=bool)
        for j, k in df.items():
            self.idf[j] = math.log((self.n + 1) / (k + 1)) + 1.0
            self._stop[j] = k > STOP_SHARE * self.n
        m = sparse.csr_matrix((vals, (rows, cols)), shape=(self.n, len(vocab)))
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
                r = self.rows[i]
                if not ok[i] and self._fuel_path(r["activity_key"], unit, r["unit"]):
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
        cos = np.zeros(self.n)
        q = features(norm)
        # features in more than STOP_SHARE of all names ("of", "per", 因子) separate nothing and cost most
        idx = [(j, w) for f, w in q.items() if (j := self.vocab.get(f)) is not None and not self._stop[j]]
        if idx:
            w = np.array([(1.0 + math.log(v)) * self.idf[j] for j, v in idx])
            w /= np.linalg.norm(w)
            for (j, _), wj in zip(idx, w):
                docs, vals = self._postings[j]
                cos[docs] += wj * vals

        # the hit that leads: one whose factors the unit reaches, not inside a longer term, the longest
        def reach(h: Hit) -> bool:
            ids = self._members.get(h.concept.concept)
            return ids is not None and ids.size > 0 and (compat is None or bool(compat[ids].any()))

        hits = sorted(hits, key=lambda h: (not reach(h), h.shadowed, -len(h.term)))
        if hits and not hits[0].shadowed:  # the longer term leads: the words inside it are not evidence
            hits = [h for h in hits if not h.shadowed]
        # concept: which hit (if any) each factor belongs to
        member = np.full(self.n, -1)
        for k, h in enumerate(hits):
            ids = self._members.get(h.concept.concept)
            if ids is not None and ids.size:
                free = ids[member[ids] < 0]
                member[free] = k
        is_member = member >= 0
        # candidates: the concept's factors and the factors closest in wording (a common character such as
        # 油 touches thousands of names; the few hundred closest are all that can win on text)
        near_text = np.flatnonzero(cos > 0)
        if near_text.size > TEXT_POOL:
            near_text = near_text[np.argpartition(-cos[near_text], TEXT_POOL)[:TEXT_POOL]]
        if hits:
            mask = is_member.copy()
            mask[near_text] = True
            pool = np.flatnonzero(mask)
        else:
            pool = np.sort(near_text)
        kept = pool[compat[pool]] if compat is not None else pool
        if kept.size == 0:
            return MatchResult(
                text, unit, [], False, [h.concept.concept for h in hits], self._why_none(pool, unit, dim)
            )
        base = CONCEPT_BASE - (FUZZY_PENALTY if fuzzy else 0.0)
        # a description that names a concept is about that concept: other factors count for less
        cap = NON_CONCEPT_CAP * (NAMED_OTHER if hits else 1.0)
        # the leading hit's factors start at `base`, a further concept's a step lower
        base_of = np.where(member[kept] > 0, base - SECONDARY, base)
        final = np.where(is_member[kept], base_of + (1 - base_of) * cos[kept], cap * cos[kept])
        # rapidfuzz on the best few: typos and word order
        head = kept.size if kept.size <= FUZZ_TOP else None
        order = np.arange(kept.size) if head else np.argpartition(-final, FUZZ_TOP)[:FUZZ_TOP]
        for o in order:
            i = kept[o]
            t_ = 0.75 * cos[i] + 0.25 * fuzz.token_set_ratio(norm, self._names[i]) / 100.0
            final[o] = base_of[o] + (1 - base_of[o]) * t_ if is_member[i] else cap * t_
        for k, h in enumerate(hits):  # every member of a homogeneous concept scores as its best-worded member
            if h.concept.kind in HOMOGENEOUS:
                same = member[kept] == k
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
            r = self.rows[i]
            hit = hits[member[i]] if member[i] >= 0 else None
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
                    (hit, fuzzy, float(cos[i]), unit, dim, steps),
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
        steps: dict[str, str] = {}
        if not geography_code:
            return steps
        try:  # 'CN-CQ', '重庆', '500000' all name Chongqing
            chain = geography.fallback_chain(geography.normalise(geography_code).code)
        except (KeyError, ValueError):
            return steps
        for geo, basis in chain:
            steps.setdefault(
                geo.code,
                "requested"
                if basis == "requested"
                else "grid_region"
                if geo.level == "grid_region"
                else "country"
                if geo.level == "country"
                else "global"
                if geo.code == "GLO"
                else "other",
            )
        return steps

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
        units_seen = sorted({self.rows[int(i)]["unit"] for i in cand[:200]})
        fuel = next(
            (self.rows[int(i)]["activity_key"] for i in cand if self.rows[int(i)]["activity_key"] in self.fuels), None
        )
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
    for concept, members in matcher._members.items():
        for i in members:
            rows.append({"factor_id": matcher.rows[int(i)]["factor_id"], "concept": concept})
    return pl.DataFrame(rows, schema={"factor_id": pl.String, "concept": pl.String})


__all__ = ["Candidate", "Concept", "Matcher", "MatchResult", "MatchUnitError", "concept_table"]
