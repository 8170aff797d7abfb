"""Independent reference: the MSE loss Hessian by sympy differentiation of an explicit
convolution loop (no Toeplitz matrices, no engine code)."""

import numpy as np
import sympy

from general_reference import forward, rat


def forward_loop(arch, params, x):
    """Evaluate the linear network by explicit loops over channels, positions and taps
    (:func:`general_reference.forward` with the identity activation)."""
    return forward(arch, params, x, lambda z: z)


def symbolic_hessians(arch, params_values, X, Y):
    """Return (H_L, H_o, H_f, symbols) as sympy matrices at the given exact values."""
    shapes = arch.param_shapes()
    syms, sym_params, subs = [], [], {}
    vals = [np.asarray(v, dtype=object) for v in params_values]
    for k, s in enumerate(shapes):
        arr = np.empty(s, dtype=object)
        for idx in np.ndindex(*s):
            t = sympy.Symbol(f"t{k}_{'_'.join(map(str, idx))}")
            arr[idx] = t
            syms.append(t)
            v = vals[k][idx]
            subs[t] = sympy.Rational(int(v.p), int(v.q)) if hasattr(v, "q") else sympy.nsimplify(v)
        sym_params.append(arr)
    loss = 0
    H_o = sympy.zeros(len(syms), len(syms))
    H_f = sympy.zeros(len(syms), len(syms))
    for x, y in zip(X, Y):
        F = forward_loop(arch, sym_params, [rat(v) for v in x])
        for c, Fc in enumerate(F):
            delta = Fc - rat(y[c])
            loss += delta ** 2 / 2
            g = sympy.Matrix([Fc.diff(t) for t in syms]).subs(subs)
            H_o += g * g.T
            H_f += delta.subs(subs) * sympy.hessian(Fc, syms).subs(subs)
    H_L = sympy.hessian(sympy.expand(loss), syms).subs(subs)
    return H_L, H_o, H_f
