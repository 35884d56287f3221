"""Replay the committed fuzzing corpus: every case must pass (documented exceptions only)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("atheris")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = sorted((ROOT / "fuzz" / "corpus" / "bindings").glob("*"))


def _load():
    spec = importlib.util.spec_from_file_location("fuzz_bindings", ROOT / "fuzz" / "fuzz_bindings.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_corpus_replays_cleanly() -> None:
    assert CORPUS, "fuzz corpus is empty"
    mod = _load()
    for case in CORPUS:
        mod.one_input(case.read_bytes())
