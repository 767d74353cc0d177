"""Activity descriptions as enterprises write them, made comparable: normalisation, the features text
similarity is computed on, and the lexicon of concepts (pipelines/reference/activity_lexicon.csv).

- `normalise`: NFKC (full-width letters, digits and brackets become half-width: "ＰＰ粒料" = "PP粒料"),
  lower case, superscripts (m³ -> m3), separators unified, spaces collapsed.
- `features`: Chinese text as character unigrams and bigrams (no segmenter or model to download: bigrams
  carry most of the meaning of Chinese material names), Latin text as words and the character trigrams
  of each word (a typo changes one or two trigrams, not the word's whole weight), numbers as tokens.
- `Lexicon`: each concept (diesel, grid electricity, PP, R-134a, HGV freight ...) with the words people
  use for it in Chinese and English (grades, trade names, abbreviations) and the factors that represent it
  (by activity key, source classification code, or name). A concept found in a description is the
  strongest evidence the matcher has; the longest term wins where terms overlap ("液化天然气" over "天然气").
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LEXICON_FILE = Path(__file__).parent.parent / "reference" / "activity_lexicon.csv"

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPLIT = re.compile(rf"([{_CJK}]+)|([a-z][a-z0-9\-\.#+]*|[0-9][0-9a-z\.\-#+]*)")
_WORD = re.compile(r"[a-z0-9][a-z0-9\-\.#+&]*")
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")
_SEPARATORS = str.maketrans({"、": " ", "，": " ", ",": " ", "；": " ", ";": " ", "／": "/", "·": "*", "_": " "})


def normalise(text: str) -> str:
    t = unicodedata.normalize("NFKC", str(text or "")).lower()
    t = t.replace("³", "3").replace("²", "2").translate(_SEPARATORS)
    t = re.sub(r"\s+", " ", t).strip()
    return _CJK_SPACE.sub("", t)  # "电 力" is 电力: spaces between Chinese characters carry nothing


def features(text: str) -> dict[str, float]:
    """Feature -> count for a normalised text."""
    out: dict[str, float] = {}

    def add(f: str, w: float = 1.0) -> None:
        out[f] = out.get(f, 0.0) + w

    for cjk, latin in _SPLIT.findall(text):
        if cjk:
            for ch in cjk:
                add("c:" + ch)
            for i in range(len(cjk) - 1):
                add("b:" + cjk[i : i + 2])
        elif latin:
            word = latin.strip(".-#/+")
            if not word:
                continue
            if word.endswith("s") and len(word) > 3 and word[-2] not in "su":
                word = word[:-1]  # plural: 'plastics' ~ 'plastic'
            add("w:" + word, 2.0)
            padded = f"<{word}>"
            if len(word) > 3 and not word[0].isdigit():
                for i in range(len(padded) - 2):
                    add("t:" + padded[i : i + 3], 0.5)
    return out


@dataclass(frozen=True)
class Concept:
    concept: str
    kind: str
    targets: tuple[tuple[str, str], ...]  # (kind, value): key | code | zh | zh= | en
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    concept: Concept
    term: str
    start: int
    end: int
    shadowed: bool = False  # inside a longer term's span ("柴油" in "柴油货车"): used when the longer cannot be


class Lexicon:
    def __init__(self, concepts: list[Concept]):
        self.concepts = concepts
        # every term, longest first; Latin terms need word boundaries, a one-character Chinese term must be
        # the whole description ("电", not the 电 of 电池)
        entries = []
        for c in concepts:
            for term in c.terms:
                entries.append((term, c))
        entries.sort(key=lambda e: (-len(e[0]), e[0]))
        self._latin: list[tuple[re.Pattern, str, Concept]] = []
        self._cjk: list[tuple[str, Concept]] = []
        self._exact: dict[str, Concept] = {}
        for term, c in entries:
            if re.search(rf"[{_CJK}]", term):
                if len(term) == 1:
                    self._exact[term] = c
                else:
                    self._cjk.append((term, c))
            else:
                # a plural 's' is the same word ("shipping cartons")
                self._latin.append((re.compile(rf"(?<![a-z0-9]){re.escape(term)}(?:e?s)?(?![a-z0-9])"), term, c))
        self._all = sorted(
            [(t, c, None) for t, c in self._cjk] + [(t, c, p) for p, t, c in self._latin], key=lambda e: -len(e[0])
        )
        # terms by their first character, longest first: a description is checked only against the terms
        # that can start at one of its characters
        self._by_first: dict[str, list] = {}  # terms with Chinese characters, by their first character
        self._by_word: dict[str, list] = {}  # Latin terms, by their first word
        for rank, (term, c, pattern) in enumerate(self._all):
            if pattern is None:
                self._by_first.setdefault(term[0], []).append((rank, term, c, pattern))
            else:
                first = _WORD.match(term)
                self._by_word.setdefault(first.group(0) if first else term, []).append((rank, term, c, pattern))

    def find(self, text: str) -> list[Hit]:
        """Concepts named in a normalised description: longest terms first, no two hits overlapping."""
        bare = re.sub(r"[\s\(\)（）\[\]]|量$|费$", "", text)
        if bare in self._exact:
            return [Hit(self._exact[bare], bare, 0, len(text))]
        taken: list[tuple[int, int]] = []
        hits: list[Hit] = []
        words = set(_WORD.findall(text))
        words |= {w[:-1] for w in words if w.endswith("s")}
        entries = sorted(
            [e for ch in set(text) for e in self._by_first.get(ch, ()) if e[1] in text]
            + [e for w in words for e in self._by_word.get(w, ()) if e[1] in text]
        )
        for _, term, c, pattern in entries:
            if pattern is None:
                start = text.find(term)
                spans = [] if start < 0 else [(start, start + len(term))]
            else:
                if term not in text:
                    continue
                spans = [m.span() for m in pattern.finditer(text)][:1]
            for s, e in spans:
                if any(s < te and ts < e for ts, te in taken):
                    if not any(h.concept is c for h in hits):
                        hits.append(Hit(c, term, s, e, shadowed=True))
                    continue
                taken.append((s, e))
                hits.append(Hit(c, term, s, e))
        return hits

    def find_fuzzy(self, text: str) -> list[Hit]:
        """No exact term: a Chinese term of three or more characters present with one character different
        ("冷扎钢板" for 冷轧钢板, "聚丙稀" for 聚丙烯, "瓦愣纸箱" for 瓦楞纸箱). Shorter terms are not
        guessed: one wrong character in two is a different word."""
        from rapidfuzz.distance import Levenshtein

        best: Hit | None = None
        for term, c in self._cjk:
            n = len(term)
            if n < 3 or n > len(text) + 1:
                continue
            for s in range(0, max(1, len(text) - n + 1)):
                if Levenshtein.distance(term, text[s : s + n], score_cutoff=1) <= 1 and text[s] == term[0]:
                    if best is None or n > len(best.term):
                        best = Hit(c, term, s, s + n)
                    break
        return [best] if best else []


@lru_cache(maxsize=4)
def load_lexicon(path: str | None = None) -> Lexicon:
    file = Path(path) if path else LEXICON_FILE
    concepts = []
    with file.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            targets = []
            for t in (row.get("targets") or "").split(";"):
                t = t.strip()
                m = re.match(r"^(key|code|zh|en)(=|:)(.+)$", t)
                if not m:
                    raise ValueError(f"{file}: row {n}, column targets: {t!r} is not key:|code:|zh:|zh=|en:<value>")
                kind = m.group(1) + ("=" if m.group(2) == "=" else "")
                targets.append((kind, m.group(3).strip()))
            terms = tuple(dict.fromkeys(normalise(x) for x in (row.get("terms") or "").split("|") if x.strip()))
            if not terms:
                raise ValueError(f"{file}: row {n}, column terms: no term for concept {row.get('concept')!r}")
            concepts.append(Concept(row["concept"].strip(), (row.get("kind") or "").strip(), tuple(targets), terms))
    return Lexicon(concepts)
