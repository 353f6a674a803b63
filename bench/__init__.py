"""Benchmarks for oncall at 100k and 1M assets, and the synthetic catalog generator."""
