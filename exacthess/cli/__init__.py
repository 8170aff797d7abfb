"""The ``exacthess`` command line: one module per command, rendering, progress on stderr, one-line
errors (exit 2), Ctrl-C (exit 130) and internal errors (exit 70)."""
