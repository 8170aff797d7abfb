"""Independent reference for any activation and loss: sympy differentiation of the loss written out
explicitly (no Toeplitz matrices, no chain rule, no engine code).

* the network: explicit loops over channels, positions and taps (zero padding by bounds checks),
  the activation after every hidden layer;
* activations: ReLU / leaky ReLU as ``sympy.Piecewise`` (differentiated symbolically; evaluated at
  points without kinks), polynomials as polynomials;
* losses as explicit sums: MSE, weighted MSE, cross-entropy ``log(sum_k exp(f_k)) - sum_k y_k f_k``,
  BCE ``-sum_k (y_k log s_k + (1 - y_k) log(1 - s_k))`` with ``s = 1 / (1 + exp(-f))``;
  ``exp`` and ``log`` are sympy Functions carrying their derivative rules (``Exp' = Exp``,
  ``Log'(u) = 1/u``) but kept unevaluated, so that after differentiation and substitution of the
  point each transcendental value can be replaced by a rational stand-in:
  ``Exp(f_ik) -> p_ik`` for cross-entropy (every derivative of ``log sum exp`` is homogeneous of
  degree 0 in one sample's ``exp(f_ik)``, and the stand-ins ``p_i`` sum to 1) and
  ``Exp(-f_ik) -> (1 - s_ik) / s_ik`` for BCE (so ``1 / (1 + Exp(-f))`` becomes ``s``).

``H_L`` is the symbolic Hessian of the total loss; ``H_o = sum_i J_i^T A_i J_i`` with ``J_i`` the
symbolic Jacobian of the outputs and ``A_i`` the symbolic Hessian of the loss in output space;
``H_f = H_L - H_o``.
"""

import itertools

import numpy as np
import sympy


class Exp(sympy.Function):
    """exp, unevaluated: derivative Exp(u)' = Exp(u) u'."""

    def fdiff(self, argindex=1):
        return self


class Log(sympy.Function):
    """log, unevaluated: derivative 1/u."""

    def fdiff(self, argindex=1):
        return 1 / self.args[0]


def rat(v):
    """An exact sympy Rational from fmpq / int / Fraction / sympy numbers."""
    if hasattr(v, "q") and hasattr(v, "p"):
        return sympy.Rational(int(v.p), int(v.q))
    return sympy.Rational(v)


def activation(spec):
    """``("linear",)``, ``("leaky", a)`` (ReLU: ``a = 0``) or ``("poly", (c0, c1, ...))`` -> z -> expr."""
    kind = spec[0]
    if kind == "linear":
        return lambda z: z
    if kind == "leaky":
        a = rat(spec[1])
        return lambda z: sympy.Piecewise((z, z > 0), (a * z, True))
    coeffs = [rat(c) for c in spec[1]]
    return lambda z: sum((c * z ** k for k, c in enumerate(coeffs)), sympy.Integer(0))


def forward(arch, params, x, act):
    """Outputs of the network at one sample ``x`` (flattened channel-major), by explicit loops."""
    p = 0
    first = arch.layers[0]
    h = np.array(x, dtype=object).reshape(first.c_in, *first.in_shape)
    L1 = len(arch.layers)
    for l, layer in enumerate(arch.layers, start=1):
        W = np.asarray(params[p], dtype=object).reshape(layer.weight_shape)
        p += 1
        b = None
        if layer.bias:
            b = np.asarray(params[p], dtype=object)
            p += 1
        hi, wi = layer.in_shape
        ho = (hi + 2 * layer.padding[0] - layer.kernel[0]) // layer.stride[0] + 1
        wo = (wi + 2 * layer.padding[1] - layer.kernel[1]) // layer.stride[1] + 1
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
            out[o, y, xx] = acc if l == L1 else act(acc)
        h = out
    return list(h.ravel())


def hidden_preactivations(arch, act_spec, params, x):
    """Every hidden pre-activation of one sample (to choose points away from ReLU kinks)."""
    act, seen = activation(act_spec), []

    def record(z):
        seen.append(z)
        return act(z)
    values = [np.vectorize(rat, otypes=[object])(np.asarray(v, dtype=object)) for v in params]
    forward(arch, values, [rat(v) for v in x], record)
    return seen


def loss_expr(spec, f, y):
    """The per-sample loss written out: ``"mse"``, ``("wmse", w)``, ``"ce"``, ``"bce"`` or
    ``("custom", fn)`` with ``fn(f, y) -> expr``."""
    y = [rat(v) for v in y]
    if spec == "mse":
        return sum(((a - b) ** 2 for a, b in zip(f, y)), sympy.Integer(0)) / 2
    if spec == "ce":
        return Log(sum(Exp(a) for a in f)) - sum(b * a for a, b in zip(f, y))
    if spec == "bce":
        out = sympy.Integer(0)
        for a, b in zip(f, y):
            s = 1 / (1 + Exp(-a))
            out -= b * Log(s) + (1 - b) * Log(1 - s)
        return out
    if spec[0] == "wmse":
        return sum((rat(w) * (a - b) ** 2 for w, a, b in zip(spec[1], f, y)), sympy.Integer(0)) / 2
    return spec[1](f, y)


def _standin_map(spec, fvals, standins):
    """Exp(...) -> rational stand-in for one sample (see the module docstring)."""
    if spec == "ce":
        return {Exp(f): rat(p) for f, p in zip(fvals, standins)}
    if spec == "bce":
        return {Exp(-f): (1 - rat(s)) / rat(s) for f, s in zip(fvals, standins)}
    return {}


def _evaluate(expr, point, swap):
    val = expr.xreplace(point)
    if swap:
        val = val.xreplace(swap)
    assert val.is_Rational, f"not a rational after substitution: {val}"
    return val


def hessians(arch, act_spec, loss_spec, params, X, Y, standins=None):
    """``(H_L, H_o, H_f, outputs)`` as sympy matrices at the exact point.

    Args:
        params: exact parameter arrays in the documented order.
        standins: ``fn(i, fvals) -> list`` of the stand-ins of sample ``i`` (softmax values for
            cross-entropy, sigmoid values for BCE); unused for rational losses.
    """
    act = activation(act_spec)
    syms, sym_params, point = [], [], {}
    for k, (s, vals) in enumerate(zip(arch.param_shapes(), params)):
        vals = np.asarray(vals, dtype=object)
        arr = np.empty(s, dtype=object)
        for idx in np.ndindex(*s):
            t = sympy.Symbol(f"t{k}_{'_'.join(map(str, idx))}")
            arr[idx] = t
            syms.append(t)
            point[t] = rat(vals[idx])
        sym_params.append(arr)
    p = len(syms)
    H_L, H_o = sympy.zeros(p, p), sympy.zeros(p, p)
    outs = []
    for i, (x, y) in enumerate(zip(X, Y)):
        F = forward(arch, sym_params, [rat(v) for v in x], act)
        fvals = [_evaluate(Fc, point, {}) for Fc in F]
        outs.append(fvals)
        swap = _standin_map(loss_spec, fvals, standins(i, fvals) if standins else None)
        grad = [sympy.diff(loss_expr(loss_spec, F, y), t) for t in syms]
        for a in range(p):
            for b in range(a, p):
                h = _evaluate(sympy.diff(grad[a], syms[b]), point, swap)
                H_L[a, b] += h
                if b != a:
                    H_L[b, a] += h
        u = sympy.symbols(f"u0:{len(F)}")
        lu = loss_expr(loss_spec, list(u), y)
        at_f = dict(zip(u, fvals))
        A = sympy.Matrix(len(F), len(F), lambda r, c: _evaluate(sympy.diff(lu, u[r], u[c]), at_f, swap))
        J = sympy.Matrix(len(F), p, lambda r, c: _evaluate(sympy.diff(F[r], syms[c]), point, {}))
        H_o += J.T * A * J
    return H_L, H_o, H_L - H_o, outs
