"""Run a smoke test of the extension under valgrind memcheck and fail on errors in kinemyo's code.

CPython itself (a build without valgrind support) reports many benign "uninitialised value" errors
and leaks at exit; only error records with a stack frame in the kinemyo extension count here.

    python tools/valgrind_smoke.py          # exit 0 when clean
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

CASE = Path(__file__).with_name("valgrind_smoke_case.py")


def main() -> int:
    exe = os.path.realpath(sys.executable)
    env = dict(os.environ, PYTHONMALLOC="malloc")
    cmd = ["valgrind", "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite",
           "--num-callers=40", exe, str(CASE)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    if proc.returncode != 0 or "smoke ok" not in proc.stdout:
        print(proc.stdout, proc.stderr[-4000:])
        print("valgrind smoke: the case itself failed")
        return 1
    records = re.split(r"==\d+== \n", proc.stderr)
    ours = [r for r in records if re.search(r"_core\.cpython|kinemyo::", r)
            and re.search(r"Invalid|uninitialised|definitely lost|Mismatched|overlap", r)]
    for r in ours:
        print(r)
    summary = [ln for ln in proc.stderr.splitlines() if "ERROR SUMMARY" in ln]
    print(f"valgrind smoke: {len(ours)} error records in kinemyo's code "
          f"({summary[-1].split('== ')[-1] if summary else 'no summary'} in the whole interpreter)")
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main())
