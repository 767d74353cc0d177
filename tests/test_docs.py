from pipelines.factors.docs import TARGET, render
from pipelines.factors.schema import FACTOR_COLUMNS


def test_factor_record_doc_is_current_and_complete():
    text = TARGET.read_text(encoding="utf-8")
    assert text == render(), "docs/factor_record.md is stale: run python -m pipelines.factors.docs"
    for column in FACTOR_COLUMNS:
        assert f"`{column.name}`" in text


def test_settings_table_in_readme_is_generated_from_the_one_list():
    from pipelines.config import PROJECT_ROOT, settings_table

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme


def test_no_module_reads_or_writes_the_environment_but_the_settings():
    """Every PCF_* setting is read in pipelines/config.py only; nothing in the package writes the environment."""
    import re

    from pipelines.config import PACKAGE_DIR

    allowed = {"config.py": None, "runs.py": "DAGSTER_HOME", "release/manifests.py": "PCF_FAULT"}
    for path in PACKAGE_DIR.rglob("*.py"):
        rel = path.relative_to(PACKAGE_DIR).as_posix()
        code = path.read_text(encoding="utf-8")
        assert not re.search(
            r"os\.environ\[[^\]]*\]\s*=|os\.environ\.(update|setdefault|pop)\(|os\.putenv|del os\.environ", code
        ), rel
        for name in re.findall(
            r"os\.environ\.get\(\"([A-Z_]+)\"|os\.environ\[\"([A-Z_]+)\"\]|getenv\(\"([A-Z_]+)\"", code
        ):
            name = next(n for n in name if n)
            assert rel in allowed and (allowed[rel] is None or allowed[rel] == name), f"{rel} reads {name}"
