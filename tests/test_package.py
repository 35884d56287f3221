"""Package-level checks: import cost, type stubs in sync with the extension, CLI entry points."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

import kinemyo
from kinemyo import _core
from kinemyo.cli import main

STUB = Path(kinemyo.__file__).with_name("_core.pyi")


def test_stub_lists_every_public_name_of_the_extension() -> None:
    assert STUB.exists(), "python/kinemyo/_core.pyi is missing (regenerate with pybind11-stubgen)"
    tree = ast.parse(STUB.read_text())
    declared = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    public = {n for n in dir(_core) if not n.startswith("__")}
    missing = public - declared - {"__version__"}
    assert not missing, f"_core.pyi is stale, regenerate it: missing {sorted(missing)}"


def test_import_is_light() -> None:
    heavy = "('scipy', 'matplotlib', 'dask', 'pandas')"
    code = f"import sys, kinemyo; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_cli_help_and_version() -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["--help"])
    assert res.exit_code == 0 and "demo" in res.output
    res = runner.invoke(main, ["--version"])
    assert res.exit_code == 0 and kinemyo.__version__ in res.output
    out = subprocess.run([sys.executable, "-m", "kinemyo", "--help"], capture_output=True, text=True, check=True)
    assert "Usage" in out.stdout


def test_filters_only_demo_runs() -> None:
    res = CliRunner().invoke(main, ["demo", "--filters-only"])
    assert res.exit_code == 0, res.output
    assert "envelope, active / rest" in res.output
