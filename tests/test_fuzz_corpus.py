"""Replay the committed fuzzing corpora: every case must pass (documented exceptions only)."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest

pytest.importorskip("atheris")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = sorted((ROOT / "fuzz" / "corpus" / "bindings").glob("*"))
READER_CORPUS = sorted((ROOT / "fuzz" / "corpus" / "readers").glob("*"))


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "fuzz" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_corpus_replays_cleanly() -> None:
    assert CORPUS, "fuzz corpus is empty"
    mod = _load("fuzz_bindings")
    with warnings.catch_warnings():
        # as under the fuzzer: warnings are not findings (e.g. fusion.estimate casts complex input
        # to real with a ComplexWarning where update() raises TypeError; docs/reliability.md)
        warnings.simplefilter("ignore")
        for case in CORPUS:
            mod.one_input(case.read_bytes())


def test_reader_corpus_replays_cleanly() -> None:
    """Mutated real files of every format (seeds: one valid file each, all read back)."""
    pytest.importorskip("pyedflib")
    pytest.importorskip("ezc3d")
    pytest.importorskip("pyxdf")
    pytest.importorskip("h5py")
    pytest.importorskip("pyarrow")
    assert len(READER_CORPUS) >= 10, "reader fuzz corpus is missing"
    mod = _load("fuzz_readers")
    seen = set()
    for case in READER_CORPUS:
        data = case.read_bytes()
        if data:
            seen.add(mod.FORMATS[data[0] % len(mod.FORMATS)])
        mod.one_input(data)
    assert seen == set(mod.FORMATS), set(mod.FORMATS) - seen
