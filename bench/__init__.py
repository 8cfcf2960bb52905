"""Benchmarks: a deterministic corpus generator and a build timer (see bench/README.md)."""
