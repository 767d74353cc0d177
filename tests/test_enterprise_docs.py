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
