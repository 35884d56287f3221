"""Benchmarks: kinemyo side by side with the tools users would otherwise pick.

Run: ``python -m pytest benchmarks --benchmark-json=bench.json`` then
``python benchmarks/ratios.py bench.json`` for the peer/kinemyo ratios per group.
CI runs them once with ``--benchmark-disable`` so they keep working.
"""
