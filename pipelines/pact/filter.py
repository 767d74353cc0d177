"""`$filter` of GET /2/footprints: the OData subset the PACT 2.x spec defines.

Clauses joined by `and`; a clause is `<path> <op> '<value>'` with op one of eq, ne, lt, le, gt, ge and a path
such as `created`, `updated`, `productCategoryCpc`, `companyName`, `pcf/geographyCountry`,
`pcf/referencePeriodStart`; or a lambda over a list, `productIds/any(productId:(productId eq 'urn:...'))`
(also companyIds, productClassifications). Values compare as strings (ISO timestamps order as text). Anything
else is a FilterError (BadRequest).
"""

from __future__ import annotations

import re

OPS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}
_SIMPLE = re.compile(
    r"^\s*([A-Za-z][A-Za-z0-9]*(?:/[A-Za-z][A-Za-z0-9]*)*)\s+(eq|ne|lt|le|gt|ge)\s+'((?:[^']|'')*)'\s*$"
)
_ANY = re.compile(
    r"^\s*([A-Za-z][A-Za-z0-9]*)/any\(\s*([A-Za-z]\w*)\s*:\s*\(?\s*\2\s+(eq|ne)\s+'((?:[^']|'')*)'\s*\)?\s*\)\s*$"
)


class FilterError(ValueError):
    pass


def _split_and(text: str) -> list[str]:
    parts, depth, quote, start = [], 0, False, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
        elif not quote and depth == 0 and text[i : i + 5].lower() == " and ":
            parts.append(text[start:i])
            start = i + 5
            i += 5
            continue
        i += 1
    if quote or depth:
        raise FilterError(f"$filter: unbalanced quotes or brackets in {text!r}")
    parts.append(text[start:])
    return parts


def compile_filter(text: str | None):
    """-> a predicate over a ProductFootprint document."""
    if not text or not text.strip():
        return lambda doc: True
    checks = []
    for clause in _split_and(text):
        m = _ANY.match(clause)
        if m:
            field, op, value = m.group(1), m.group(3), m.group(4).replace("''", "'")
            checks.append(lambda d, f=field, o=op, v=value: (v in (d.get(f) or [])) == (o == "eq"))
            continue
        m = _SIMPLE.match(clause)
        if m:
            path, op, value = m.group(1).split("/"), m.group(2), m.group(3).replace("''", "'")

            def check(d, p=path, o=op, v=value):
                cur = d
                for key in p:
                    cur = cur.get(key) if isinstance(cur, dict) else None
                return cur is not None and OPS[o](str(cur), v)

            checks.append(check)
            continue
        raise FilterError(
            f"$filter: {clause.strip()!r} is not `<path> <op> '<value>'` or `<list>/any(x:(x eq '<value>'))`"
        )
    return lambda doc: all(c(doc) for c in checks)
