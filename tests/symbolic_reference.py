"""Independent reference: the MSE loss Hessian by sympy differentiation of an explicit
convolution loop (no Toeplitz matrices, no engine code)."""

import itertools

import numpy as np
import sympy


def forward_loop(arch, params, x):
    """Evaluate the linear network by explicit loops over channels, positions and taps."""
    p = 0
    h = np.array(x, dtype=object).reshape(arch.layers[0].c_in, *arch.layers[0].in_shape)
    for layer in arch.layers:
        W = np.asarray(params[p], dtype=object).reshape(layer.weight_shape)
        p += 1
        b = None
        if layer.bias:
            b = np.asarray(params[p], dtype=object)
            p += 1
        (hi, wi), (ho, wo) = layer.in_shape, layer.out_shape
        out = np.empty((layer.c_out, ho, wo), dtype=object)
        for o, y, xx in itertools.product(range(layer.c_out), range(ho), range(wo)):
            acc = sympy.Integer(0)
            for i, a, c in itertools.product(range(layer.c_in), range(layer.kernel[0]), range(layer.kernel[1])):
                yy = y * layer.stride[0] + a - layer.padding[0]
                xc = xx * layer.stride[1] + c - layer.padding[1]
                if 0 <= yy < hi and 0 <= xc < wi:
                    acc += W[o, i, a, c] * h[i, yy, xc]
            if b is not None:
                acc += b[o]
            out[o, y, xx] = acc
        h = out
    return list(h.ravel())


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
    def rat(v):
        return sympy.Rational(int(v.p), int(v.q)) if hasattr(v, "q") else sympy.Rational(v)
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
