"""Benchmarks (``nat-bench <name>``): ratios measured side by side in one run, never timed tests.

Each module in this package that defines ``register(subparsers)`` adds one subcommand.
"""
