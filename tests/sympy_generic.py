"""Independent reference for generic ranks: sympy's fully symbolic Hessians over Q(theta, X, Y).

Every weight, input and target is a sympy symbol; the network is evaluated by the explicit
convolution loop of ``tests/symbolic_reference.py`` (no Toeplitz matrices, no exacthess engine),
and ``H_L`` is sympy's Hessian of the expanded loss, ``H_o = sum J^T J``, ``H_f = H_L - H_o``.

The generic rank is the rank over the fraction field: it is at least the rank ``r`` at a rational
point, and at most ``r`` when every ``(r+1) x (r+1)`` minor is the zero polynomial, which is
checked with sympy's ``DomainMatrix.det`` over the polynomial ring (exact, fraction-free).
"""

import itertools
import random

import numpy as np
import sympy as sp
from sympy.polys.matrices import DomainMatrix

from symbolic_reference import forward_loop


def generic_hessians(arch, n):
    """``(H_o, H_f, H_L, symbols)`` with a symbol for every parameter, input and target."""
    syms, params = [], []
    for k, s in enumerate(arch.param_shapes()):
        arr = np.empty(s, dtype=object)
        for idx in np.ndindex(*s):
            t = sp.Symbol(f"t{k}_{'_'.join(map(str, idx))}")
            arr[idx] = t
            syms.append(t)
        params.append(arr)
    X = [[sp.Symbol(f"x{i}_{j}") for j in range(arch.input_dim)] for i in range(n)]
    Y = [[sp.Symbol(f"y{i}_{c}") for c in range(arch.output_dim)] for i in range(n)]
    loss = 0
    H_o = sp.zeros(len(syms), len(syms))
    for x, y in zip(X, Y):
        for c, Fc in enumerate(forward_loop(arch, params, x)):
            loss += (Fc - y[c]) ** 2 / 2
            g = sp.Matrix([sp.diff(Fc, t) for t in syms])
            H_o += g * g.T
    H_L = sp.hessian(sp.expand(loss), syms)
    H_o = H_o.expand()
    every = syms + [v for row in X + Y for v in row]
    return H_o, (H_L - H_o).expand(), H_L, every


def fraction_field_rank(M, symbols, seed=0) -> int:
    """Rank of a polynomial matrix over the fraction field (see the module docstring)."""
    rng = random.Random(seed)
    point = {s: sp.Integer(rng.randint(-10**6, 10**6)) for s in symbols}
    r = DomainMatrix.from_Matrix(M.subs(point)).convert_to(sp.QQ).rank()
    m, n = M.shape
    if r == min(m, n):
        return r
    dM = DomainMatrix.from_Matrix(M)
    zero = dM.domain.zero
    for rows in itertools.combinations(range(m), r + 1):
        for cols in itertools.combinations(range(n), r + 1):
            assert dM.extract(list(rows), list(cols)).det() == zero, "a larger minor is not identically zero"
    return r
