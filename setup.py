"""Only what pyproject.toml cannot say: the wheel carries the SQL models (sql/), the expectation suites
(expectations/) and the embedded default data (git-tracked data/raw) as package data under
pipelines/_data, so an installed `pcf` works outside the checkout (pipelines/config.py resource_dir)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = {
    "sql": ["**/*.sql"],
    "expectations": ["*.json"],
    "data/raw": [
        "embedded/*.csv",
        "literature/*.csv",
        "models/*.csv",
        "enterprise/examples/*.xlsx",
        "curation/decisions.jsonl",
        "curation/regional/README.md",
    ],
}


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout itself
            return
        target = Path(self.build_lib) / "pipelines" / "_data"
        for folder, patterns in SHIPPED.items():
            for pattern in patterns:
                for src in sorted((HERE / folder).glob(pattern)):
                    dest = target / folder / src.relative_to(HERE / folder)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dest)


setup(cmdclass={"build_py": BuildWithData})
