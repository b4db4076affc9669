"""orqmagic benchmarks: run on purpose with ``python -m benchmarks`` (``--quick``, ``--json FILE``).

Each benchmark returns :class:`Figure` values; comparisons run side by side in one run.
They print figures and never assert: the test suite does not time anything.
"""
