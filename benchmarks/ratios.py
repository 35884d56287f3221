"""Print peer / kinemyo ratios of medians per benchmark group from a pytest-benchmark JSON file.

Usage: ``python benchmarks/ratios.py bench.json``
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def main(path: str) -> None:
    data = json.load(open(path))
    groups: dict[str, dict[str, float]] = defaultdict(dict)
    for b in data["benchmarks"]:
        impl = b["params"].get("impl", b["name"]) if b.get("params") else b["name"]
        groups[b["group"]][str(impl)] = b["stats"]["median"]
    print(f"machine: {data['machine_info'].get('cpu', {}).get('brand_raw', '?')}, "
          f"date: {data['datetime']}")
    for g, impls in groups.items():
        print(f"\n{g}")
        ours = {k: v for k, v in impls.items() if k.startswith("kinemyo")}
        peers = {k: v for k, v in impls.items() if not k.startswith("kinemyo")}
        for k, v in sorted(impls.items()):
            print(f"  {k:<16} median {v * 1e3:10.4f} ms")
        for pk, pv in peers.items():
            for ok, ov in ours.items():
                print(f"  {pk} / {ok}: {pv / ov:6.1f}x")


if __name__ == "__main__":
    main(sys.argv[1])
