"""Every enterprise intake rule the code can raise is documented in docs/enterprise.md."""

import re

from pipelines.config import PROJECT_ROOT


def test_every_rule_is_documented():
    code = "".join(p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "pipelines" / "enterprise").glob("*.py"))
    rules = set(re.findall(r'(?:Fail|Issue|_file_error|AllocationError|UsccError)\(\s*"([a-z_]+\.[a-z_]+)"', code))
    assert len(rules) > 40
    doc = (PROJECT_ROOT / "docs" / "enterprise.md").read_text(encoding="utf-8")
    missing = sorted(r for r in rules if r not in doc)
    assert not missing, f"rules missing from docs/enterprise.md: {missing}"
    # and the other way: every rule the rules table names is one the code raises
    table = [line.split("|")[1] for line in doc.splitlines() if line.startswith("| ") and "." in line.split("|")[1]]
    documented = {r for cell in table for r in re.findall(r"\b([a-z_]+\.[a-z_]+)\b", cell)}
    assert documented and not documented - rules, f"documented but never raised: {sorted(documented - rules)}"
