"""Symbolic proofs of the identities exacthess relies on (installed as ``exacthess.proofs``).

One module per identity; each builds its objects symbolically (sympy, or python-flint
polynomials with one variable per weight, input and target entry) and asserts the identity
exactly. Run one with ``python proofs/NAME.py`` (from a clone) or ``exacthess prove NAME``,
all with ``exacthess prove all`` or ``python -m pytest proofs``; ``exacthess prove`` lists them.
See ``proofs/README.md`` for the statements, the sizes covered and what "proven" means.
"""
