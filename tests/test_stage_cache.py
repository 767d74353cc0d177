"""The stage cache (sources/stage_cache.py): a source whose raw files, code and settings did not change is not
staged again, and what comes back is exactly what staging gives; a changed byte, a new file or an edition pin
stages it again; a source that is not known to be pure is always staged."""

from __future__ import annotations

import shutil

import pytest

from pipelines.sources import SOURCES
from pipelines.sources.stage_cache import cached_load

SOURCE = "epa_sef_v1_2"


@pytest.fixture()
def root(sources_dir, tmp_path):
    spec = SOURCES[SOURCE].SPEC
    copy = tmp_path / "sources"
    for folder in sources_dir.glob(spec.dir_glob):
        shutil.copytree(folder, copy / folder.relative_to(sources_dir))
    return copy


def _counted(root, calls):
    def load():
        calls.append(1)
        return SOURCES[SOURCE].load(root)

    return load


def _same(a, b) -> bool:
    return (
        a.staged.equals(b.staged)
        and a.raw_files.equals(b.raw_files)
        and a.extras.keys() == b.extras.keys()
        and all(a.extras[k].equals(b.extras[k]) for k in a.extras)
        and (a.edition, a.status, a.source_version) == (b.edition, b.status, b.source_version)
    )


def test_unchanged_raw_files_are_not_staged_again(root, tmp_path):
    spec, calls, store = SOURCES[SOURCE].SPEC, [], tmp_path / "store"
    first = cached_load(SOURCE, spec.dir_glob, root, store, _counted(root, calls))
    again = cached_load(SOURCE, spec.dir_glob, root, store, _counted(root, calls))
    assert len(calls) == 1 and first.staged.height > 1000
    assert _same(again, SOURCES[SOURCE].load(root))


def test_a_changed_byte_or_a_pin_stages_again(root, tmp_path, monkeypatch):
    spec, calls, store = SOURCES[SOURCE].SPEC, [], tmp_path / "store"
    cached_load(SOURCE, spec.dir_glob, root, store, _counted(root, calls))
    csv = sorted(root.rglob("*CO2e*.csv"))[0]
    text = csv.read_text(encoding="utf-8-sig")
    first_value = text.splitlines()[1]
    csv.write_text(text.replace(first_value, first_value.replace(",", ", ", 1), 1), encoding="utf-8")
    changed = cached_load(SOURCE, spec.dir_glob, root, store, _counted(root, calls))
    assert len(calls) == 2
    assert _same(changed, SOURCES[SOURCE].load(root))
    monkeypatch.setenv("PCF_EDITIONS", f"{SOURCE}=nonexistent")
    cached_load(SOURCE, spec.dir_glob, root, store, _counted(root, calls))
    assert len(calls) == 3
    assert len(list((store / SOURCE).iterdir())) == 1  # one entry per source: the latest


def test_sources_not_known_to_be_pure_are_always_staged(tmp_path):
    calls: list[int] = []
    spec = SOURCES["regional_steward"].SPEC
    for _ in range(2):
        cached_load("regional_steward", spec.dir_glob, tmp_path, tmp_path / "store", lambda: calls.append(1) or None)
    assert len(calls) == 2


def test_a_literature_source_staged_in_parts_is_kept_with_its_parts(tmp_path, monkeypatch):
    from literature_rows import row, write_rows

    from pipelines.common.parts import Parts
    from pipelines.sources import literature

    monkeypatch.setenv("PCF_CURATED_DIR", str(tmp_path / "curated"))
    write_rows(tmp_path / "raw" / "literature" / "big.csv", [row(record_id=f"r-{i}") for i in range(30)])
    root, store, calls = tmp_path / "raw", tmp_path / "store", []

    def load():
        calls.append(1)
        return literature.load(root, chunk_rows=4)

    first = cached_load("literature", "literature", root, store, load)
    again = cached_load("literature", "literature", root, store, load)
    assert len(calls) == 1 and isinstance(first.staged, Parts) and isinstance(again.staged, Parts)
    assert all(f.startswith(str(store)) for f in first.staged.files)  # not the scratch parts (removed)
    assert again.staged.collect().equals(literature.load(root, chunk_rows=0).staged)
    assert not list((tmp_path / "curated").rglob("part-*.parquet"))  # no scratch left behind
