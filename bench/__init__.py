"""`make bench`: measured, repeatable benchmarks (see run.py and docs/benchmarks.md)."""
