"""Benchmarks that measure questlog side by side with baselines, in one run."""
