r"""Shared pieces of the proof files: sizes, recording what was proven, polynomial rings.

Every proof file builds its objects over an exact ring: sympy expressions, or python-flint's
multivariate polynomials ``fmpq_mpoly`` (one variable per weight, input and target entry), and
asserts an identity *exactly*: a difference expands to the zero polynomial. Nothing here
evaluates at numbers.

* :func:`thorough` -- whether the larger size lists run: set by the runner (the ``--thorough``
  flag of a proof script or of ``exacthess prove``) with :func:`set_thorough`; under pytest,
  ``conftest.py`` sets it from the environment variable :data:`THOROUGH_ENV`
  (``EXACTHESS_PROOFS_THOROUGH=1 python -m pytest proofs``).
* :func:`covered` -- a proof records each size it has proven; the runner prints them.
* :func:`poly_ring` -- one polynomial ring with named arrays of variables;
  :class:`PolynomialDomain` lets the Hessian engine compute over that ring, so the proofs can
  compare the engine's own output with a symbolic derivation.

>>> ctx, v = poly_ring([("w", (2,)), ("x", (2,))])
>>> f = v["w"][0] * v["x"][0] + v["w"][1] * v["x"][1]
>>> [str(g) for g in poly_gradient(f, v["w"])]
['x_0', 'x_1']
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
from flint import fmpq, fmpq_mpoly, fmpq_mpoly_ctx, fmpz

from exacthess.core.domains import Ring
from exacthess.experiments.proofs import collecting, covered, set_thorough, thorough, thorough_mode

__all__ = ["THOROUGH_ENV", "thorough", "set_thorough", "thorough_mode", "covered", "collecting", "poly_ring",
           "PolynomialDomain", "poly_vector", "poly_zeros", "poly_eye", "poly_matmul", "poly_scale",
           "poly_gradient", "poly_hessian", "is_zero", "assert_zero", "assert_equal", "to_poly", "sympy_to_poly"]

# thorough, set_thorough, thorough_mode, covered, collecting: the runner's protocol (which sizes,
# which were covered) lives with the runner, exacthess.experiments.proofs; re-exported here because
# every proof file records its sizes through this module.

#: environment variable that selects the larger sizes under pytest only (read by conftest.py;
#: the runner is told by a call, :func:`set_thorough`)
THOROUGH_ENV = "EXACTHESS_PROOFS_THOROUGH"


# ----- polynomial rings -----------------------------------------------------------------
def poly_ring(groups: Sequence[tuple[str, tuple[int, ...]]]):
    """A ring ``Q[variables]`` with one variable per entry of each named array.

    Args:
        groups: ``(name, shape)`` pairs; entry ``idx`` of array ``name`` is the variable
            ``name_i_j...``.

    Returns:
        ``(ctx, arrays)``: the ``fmpq_mpoly_ctx`` and a dict ``name -> object array`` of its
        generators.
    """
    names, layout = [], []
    for name, shape in groups:
        shape = tuple(int(s) for s in shape)
        idx = list(itertools.product(*[range(s) for s in shape]))
        layout.append((name, shape, len(names)))
        names.extend(f"{name}_{'_'.join(map(str, i))}" if i else name for i in idx)
    ctx = fmpq_mpoly_ctx.get(names, "lex")
    gens = ctx.gens()
    arrays = {}
    for name, shape, start in layout:
        n = int(np.prod(shape)) if shape else 1
        arr = np.empty(n, dtype=object)
        for k in range(n):
            arr[k] = gens[start + k]
        arrays[name] = arr.reshape(shape)
    return ctx, arrays


def to_poly(ctx, value):
    """``value`` (int, ``fmpq``, ``fmpz`` or polynomial) as an element of ``ctx``."""
    if isinstance(value, fmpq_mpoly):
        return value
    if isinstance(value, (int, np.integer, fmpz)):
        return ctx.constant(int(value))
    if isinstance(value, fmpq):
        return ctx.constant(value)
    raise TypeError(f"value = {value!r} has type {type(value).__name__}; expected an int, fmpq or fmpq_mpoly")


def poly_vector(values) -> np.ndarray:
    """A 1-D object array of the given polynomials (numpy would read a polynomial as a sequence)."""
    values = list(values)
    out = np.empty(len(values), dtype=object)
    for k, v in enumerate(values):
        out[k] = v
    return out


def poly_zeros(ctx, shape) -> np.ndarray:
    """An object array of zero polynomials."""
    out = np.empty(shape, dtype=object)
    out.fill(ctx.constant(0))
    return out


def poly_eye(ctx, n: int) -> np.ndarray:
    """The ``n x n`` identity over ``ctx``."""
    out = poly_zeros(ctx, (n, n))
    for i in range(n):
        out[i, i] = ctx.constant(1)
    return out


def poly_matmul(ctx, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for object arrays of polynomials (zero-size inner dimension allowed)."""
    if a.shape[-1] == 0:
        return poly_zeros(ctx, (a.shape[0], b.shape[1]))
    return np.dot(a, b)


def poly_scale(c, arr: np.ndarray) -> np.ndarray:
    """``c * arr`` entry by entry (numpy would otherwise read a polynomial as a sequence)."""
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = c * v
    return out


class PolynomialDomain(Ring):
    """The ring ``Q[variables]`` of a ``fmpq_mpoly_ctx`` as a domain of the Hessian engine.

    The engine only needs ``convert``, ``zeros``, ``eye``, ``add``, ``sub`` and ``matmul``;
    with this domain every Hessian entry it returns is a polynomial in the variables.
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.name = f"Q[{ctx.nvars()} variables]"
        self.zero = ctx.constant(0)
        self.one = ctx.constant(1)

    def convert(self, arr):
        arr = np.asarray(arr, dtype=object) if not isinstance(arr, np.ndarray) else arr
        out = np.empty(arr.shape, dtype=object)
        for idx, v in np.ndenumerate(arr):
            out[idx] = to_poly(self.ctx, v)
        return out

    def matmul(self, a, b):
        return poly_matmul(self.ctx, a, b)


def poly_gradient(f, variables) -> np.ndarray:
    """``[df/dv for v in variables]`` (variables: an array of generators)."""
    flat = list(np.asarray(variables, dtype=object).ravel())
    out = np.empty(len(flat), dtype=object)
    for k, v in enumerate(flat):
        out[k] = f.derivative(str(v))
    return out


def poly_hessian(f, variables) -> np.ndarray:
    """The matrix of second derivatives of the polynomial ``f`` in ``variables``."""
    flat = [str(v) for v in np.asarray(variables, dtype=object).ravel()]
    n = len(flat)
    out = np.empty((n, n), dtype=object)
    first = [f.derivative(v) for v in flat]
    for i in range(n):
        for j in range(i, n):
            out[i, j] = out[j, i] = first[i].derivative(flat[j])
    return out


def is_zero(arr) -> bool:
    """True when every entry is the zero polynomial (or the number 0)."""
    for v in np.asarray(arr, dtype=object).ravel():
        if isinstance(v, fmpq_mpoly):
            if not v.is_zero():
                return False
        elif v != 0:
            return False
    return True


def assert_zero(arr, what: str) -> None:
    """Raise ``AssertionError`` naming the first nonzero entry of ``arr``."""
    arr = np.asarray(arr, dtype=object)
    for idx, v in np.ndenumerate(arr):
        nonzero = (not v.is_zero()) if isinstance(v, fmpq_mpoly) else v != 0
        if nonzero:
            text = str(v)
            raise AssertionError(f"{what}: entry {idx} is {text[:200]}{'...' if len(text) > 200 else ''}, not 0")


def assert_equal(a, b, what: str) -> None:
    """Assert two arrays of polynomials are equal entry by entry (same shape)."""
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if a.shape != b.shape:
        raise AssertionError(f"{what}: shapes {a.shape} and {b.shape} differ")
    assert_zero(a - b if a.size else a, what)


def sympy_to_poly(expr, ctx, symbols: dict):
    """A sympy polynomial expression as an element of ``ctx``.

    Args:
        expr: a sympy expression, polynomial in the keys of ``symbols``.
        ctx: the ``fmpq_mpoly_ctx``.
        symbols: ``sympy symbol -> generator of ctx``.
    """
    import sympy
    gens = list(symbols)
    poly = sympy.Poly(sympy.expand(expr), *gens, domain="QQ") if gens else None
    if poly is None:
        return ctx.constant(fmpq(int(sympy.Rational(expr).p), int(sympy.Rational(expr).q)))
    out = ctx.constant(0)
    images = [symbols[g] for g in gens]
    for monom, coeff in poly.terms():
        term = ctx.constant(fmpq(int(coeff.p), int(coeff.q)))
        for g, e in zip(images, monom):
            if e:
                term = term * g ** e
        out = out + term
    return out
