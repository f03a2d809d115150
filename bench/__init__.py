"""Benchmarks (not part of the app). `python -m bench.queries --help`."""
