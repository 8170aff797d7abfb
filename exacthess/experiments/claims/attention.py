r"""Closed forms of the Hessian blocks of one self-attention layer (``[ormaniec2025]`` in docs/references.md).

The setting of Ormaniec, Dangel & Singh (ICLR 2025), per sequence :math:`X \in \mathbb{Q}^{T \times d}`
(``T`` tokens of width ``d``; the paper's :math:`L \times d_V`)::

    S = s X W_Q W_K^T X^T,   A = softmax_rows(S)  (or A = S: linear attention),   F = A X W_V,

with :math:`W_Q, W_K \in \mathbb{Q}^{d \times d_K}`, :math:`W_V \in \mathbb{Q}^{d \times d_V}` and the score
scale :math:`s = 1/\sqrt{d_K}` -- rational when :math:`d_K` is a square (``d_K = 1, 4``); otherwise a
rational ``s`` is chosen and stated (e.g. ``1/2``). The loss is exacthess's MSE,
:math:`\ell = \tfrac12 \sum_{\text{samples}} \|F - Y\|_F^2`; a loss :math:`c\,\|F - Y\|_F^2` (for instance
:math:`c = 1/(T d_V)`, a mean over the output entries) has every block multiplied by :math:`2c`.
The formulas below are exacthess's own derivation in the paper's notation, *not* a transcription of
the paper's theorems; the printed blocks (recovered from ``[petrov2025]``'s restatement of the
paper's Theorems 3.1-3.2) are :mod:`exacthess.experiments.claims.attention_printed`, checked as
printed by ``attention.softmax.printed.*`` (docs/statements.md).

**Notation.** Per sample: :math:`Q = X W_Q`, :math:`K = X W_K`, :math:`V = X W_V`, :math:`R = F - Y`
(the output gradient), :math:`a_t` the ``t``-th row of ``A``. Per token ``t`` the *attention
covariance* operator :math:`P_t = \mathrm{diag}(a_t) - a_t a_t^T` (softmax: the Jacobian of the
row's softmax) or :math:`P_t = I_T` (linear attention); :math:`X^T P_t X = M_{2,t} - M_{1,t} M_{1,t}^T` with
the attention moments :math:`M_{1,t} = X^T a_t`, :math:`M_{2,t} = X^T \mathrm{diag}(a_t) X` (moments of the
tokens under the attention distribution of token ``t``). Further :math:`B_t = K^T P_t V`,
:math:`E_t = X^T P_t V`, :math:`G = R V^T`, :math:`D = A \odot (G - \bar g 1^T)` with
:math:`\bar g_t = \sum_u A_{tu} G_{tu}` (softmax; :math:`D = G` for linear attention), and
:math:`C_t = \mathrm{diag}(D_t) - D_t a_t^T - a_t D_t^T` (softmax; :math:`C_t = 0` for linear attention) --
:math:`C_t` carries the third moments: :math:`X^T \mathrm{diag}(D_t) X` weighs
:math:`x_u x_u^T` by :math:`a_{tu}\, x_u^T W_V r_t`. Index pairs: :math:`(i, a)` is the entry
:math:`W[i, a]` (``i`` an input feature, ``a`` an output column). Summed over tokens ``t`` and samples:

=========  ==============================================================  ====================================================================================
block      :math:`H_o` (outer product, :math:`J^T J`)                         :math:`H_f` (functional, :math:`\sum R \, \partial^2 F`)
=========  ==============================================================  ====================================================================================
(Q, Q)     :math:`s^2 X_{ti} X_{tj} (B_t B_t^T)_{ab}`                          :math:`s^2 X_{ti} X_{tj} (K^T C_t K)_{ab}`
(K, K)     :math:`s^2 Q_{ta} Q_{tb} (E_t E_t^T)_{ij}`                          :math:`s^2 Q_{ta} Q_{tb} (X^T C_t X)_{ij}`
(Q, K)     :math:`s^2 X_{ti} Q_{tb} (B_t E_t^T)_{aj}`                          :math:`s^2 X_{ti} Q_{tb} (K^T C_t X)_{aj} + s\,\delta_{ab} (X^T D X)_{ij}`
(Q, V)     :math:`s X_{ti} (A X)_{tj} (B_t)_{ab}`                              :math:`s R_{tb} X_{ti} (X^T P_t K)_{ja}`
(K, V)     :math:`s Q_{ta} (E_t)_{ib} (A X)_{tj}`                              :math:`s R_{tb} Q_{ta} (X^T P_t X)_{ji}`
(V, V)     :math:`\delta_{bb'} (X^T A^T A X)_{jj'}`                             :math:`0` (``F`` is linear in :math:`W_V`)
=========  ==============================================================  ====================================================================================

For linear attention (:math:`P_t = I`, :math:`C_t = 0`) the blocks are Kronecker products, e.g.
:math:`H_o(Q,Q) = s^2\, (W_K^T X^T X W_V W_V^T X^T X W_K) \otimes (X^T X)` (six factors of ``X``),
:math:`H_f(Q,K) = s\, I_{d_K} \otimes (X^T R W_V^T X^T X)`, and :math:`H_f(Q,Q) = H_f(K,K) = 0`
(``F`` is linear in each of :math:`W_Q`, :math:`W_K` alone).

**Layout (the permutation to exacthess's parameters).** A graph ``linear`` node stores
``weight`` of shape ``(out, in)`` and computes ``x weight^T``, so the paper's :math:`W_Q` is
``weight_Q^T`` (likewise :math:`W_K`, :math:`W_V`). Parameters are flattened row-major in the order
``W_Q, W_K, W_V``: the entry :math:`W_Q[i, a]` sits at position ``a * d + i`` of the ``W_Q`` block --
exacthess's order is the *column-stacking* :math:`\mathrm{vec}` of the paper's matrices, so a block
:math:`\sum M_{ab} N_{ij}` is ``kron(M, N)`` there. Every function returns blocks in that layout.

>>> import numpy as np
>>> from flint import fmpq
>>> X = np.array([[[fmpq(1), fmpq(0)], [fmpq(1), fmpq(1)]]], dtype=object)   # one sample, T = 2, d = 2
>>> W = np.array([[fmpq(1)], [fmpq(0)]], dtype=object)                       # d_K = d_V = 1
>>> A = attention_matrix(X, W, W, scale=fmpq(1, 2), kind="linear")
>>> A[0].tolist()
[[1/2, 1/2], [1/2, 1/2]]
>>> b = attention_blocks(X, W, W, W, np.zeros((1, 2, 1), dtype=object), A, scale=fmpq(1, 2), kind="linear")
>>> b["Ho.VV"].tolist(), b["Hf.QQ"].tolist()      # X^T A^T A X (d_V = 1); H_f(Q, Q) = 0 for linear attention
([[2, 1], [1, 1/2]], [[0, 0], [0, 0]])
"""

from __future__ import annotations

import numpy as np
from flint import fmpq

from ...core.errors import InvalidOptionError, InvalidValueError

__all__ = ["KINDS", "PAIRS", "BLOCKS", "attention_matrix", "attention_blocks", "assemble", "paper_weights",
           "exacthess_params"]

#: the two layers: softmax attention, and linear attention (A = S, no softmax)
KINDS = ("linear", "softmax")
#: parameter pairs of the upper block triangle, in the order W_Q, W_K, W_V
PAIRS = ("QQ", "QK", "KK", "QV", "KV", "VV")
#: block ids: ``"Ho.QK"`` (outer-product part), ``"Hf.QK"`` (functional part), ...
BLOCKS = tuple(f"{part}.{pair}" for part in ("Ho", "Hf") for pair in PAIRS)


def _check_kind(kind) -> str:
    if kind not in KINDS:
        raise InvalidOptionError(f"kind = {kind!r} is not an attention kind; expected one of {', '.join(KINDS)}")
    return kind


def _q(M) -> np.ndarray:
    """An object array of fmpq (ints and fmpq accepted; anything else by ``fmpq(str(v))`` is refused)."""
    arr = np.asarray(M, dtype=object)
    return np.vectorize(lambda v: v if isinstance(v, fmpq) else fmpq(int(v)) if isinstance(v, (int, np.integer))
                        else _bad(v), otypes=[object])(arr) if arr.size else arr


def _bad(v):
    raise InvalidValueError(f"entry {v!r} of type {type(v).__name__} is not exact; expected int or flint.fmpq "
                            "(convert floats with exacthess.to_rational)")


def _samples(X, name: str) -> np.ndarray:
    X = _q(X)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise InvalidValueError(f"{name} has shape {X.shape}; expected (T, width) or (n, T, width)")
    return X


def attention_matrix(X, W_Q, W_K, *, scale, kind: str = "softmax") -> np.ndarray:
    r"""The attention matrices :math:`A` of every sample, shape ``(n, T, T)``.

    ``kind="linear"``: :math:`A = s X W_Q W_K^T X^T` (exact). ``kind="softmax"``: each row is
    :func:`exacthess.models.standins.softmax` of the row of :math:`s X W_Q W_K^T X^T` -- the exact
    rational stand-ins of the graph engine's ``softmax`` op, so formulas and engine agree exactly.
    """
    _check_kind(kind)
    X, WQ, WK = _samples(X, "X"), _q(W_Q), _q(W_K)
    s = fmpq(scale) if not isinstance(scale, fmpq) else scale
    S = np.array([s * (x @ WQ) @ (x @ WK).T for x in X], dtype=object)
    if kind == "linear":
        return S
    from ...models.standins import softmax
    return np.array([[softmax(list(row)) for row in St] for St in S], dtype=object)


def _layout(H4: np.ndarray) -> np.ndarray:
    """``H4[i, a, j, b]`` (paper indexing) -> the exacthess block ``[(a, i), (b, j)]``."""
    d1, k1, d2, k2 = H4.shape
    return H4.transpose(1, 0, 3, 2).reshape(k1 * d1, k2 * d2)


def _per_sample(x, WQ, WK, WV, y, A, s, kind) -> dict:
    T, d = x.shape
    k, m = WQ.shape[1], WV.shape[1]
    Q, K, V = x @ WQ, x @ WK, x @ WV
    R = A @ V - y
    AX = A @ x
    eye = np.array([[fmpq(int(t == u)) for u in range(T)] for t in range(T)], dtype=object)
    if kind == "softmax":
        P = [np.diag(A[t]) - np.outer(A[t], A[t]) for t in range(T)]
        G = R @ V.T
        gbar = [sum((A[t, u] * G[t, u] for u in range(T)), fmpq(0)) for t in range(T)]
        D = np.array([[A[t, u] * (G[t, u] - gbar[t]) for u in range(T)] for t in range(T)], dtype=object)
        C = [np.diag(D[t]) - np.outer(D[t], A[t]) - np.outer(A[t], D[t]) for t in range(T)]
    else:
        P = [eye] * T
        D = R @ V.T
        C = None
    z = fmpq(0)
    out = {b: None for b in BLOCKS}
    Ho = {p: np.full(sh, z, dtype=object) for p, sh in
          (("QQ", (d, k, d, k)), ("QK", (d, k, d, k)), ("KK", (d, k, d, k)), ("QV", (d, k, d, m)),
           ("KV", (d, k, d, m)), ("VV", (d, m, d, m)))}
    Hf = {p: np.full(a.shape, z, dtype=object) for p, a in Ho.items()}
    for t in range(T):
        B = K.T @ P[t] @ V          # (k, m)
        E = x.T @ P[t] @ V          # (d, m)
        xt, qt, at, rt = x[t], Q[t], AX[t], R[t]
        Ho["QQ"] += s * s * np.einsum("i,j,ab->iajb", xt, xt, B @ B.T)
        Ho["KK"] += s * s * np.einsum("a,b,ij->iajb", qt, qt, E @ E.T)
        Ho["QK"] += s * s * np.einsum("i,b,aj->iajb", xt, qt, B @ E.T)
        Ho["QV"] += s * np.einsum("i,j,ab->iajb", xt, at, B)
        Ho["KV"] += s * np.einsum("a,ib,j->iajb", qt, E, at)
        Hf["QV"] += s * np.einsum("b,i,ja->iajb", rt, xt, x.T @ P[t] @ K)
        Hf["KV"] += s * np.einsum("b,a,ji->iajb", rt, qt, x.T @ P[t] @ x)
        if C is not None:
            Hf["QQ"] += s * s * np.einsum("i,j,ab->iajb", xt, xt, K.T @ C[t] @ K)
            Hf["KK"] += s * s * np.einsum("a,b,ij->iajb", qt, qt, x.T @ C[t] @ x)
            Hf["QK"] += s * s * np.einsum("i,b,aj->iajb", xt, qt, K.T @ C[t] @ x)
    Ho["VV"] += np.einsum("bc,jl->jblc", np.array([[fmpq(int(b == c)) for c in range(m)] for b in range(m)],
                                                  dtype=object), AX.T @ AX)
    XDX = x.T @ D @ x
    Hf["QK"] += s * np.einsum("ab,ij->iajb", np.array([[fmpq(int(a == b)) for b in range(k)] for a in range(k)],
                                                      dtype=object), XDX)
    for p in PAIRS:
        out[f"Ho.{p}"], out[f"Hf.{p}"] = _layout(Ho[p]), _layout(Hf[p])
    return out


def attention_blocks(X, W_Q, W_K, W_V, Y, A, *, scale, kind: str = "softmax") -> dict:
    r"""Every block of :data:`BLOCKS` by the closed forms of the module docstring, summed over samples.

    Args:
        X: ``(n, T, d)`` (or ``(T, d)``) exact inputs; Y: ``(n, T, d_V)`` targets.
        W_Q, W_K: ``(d, d_K)``; W_V: ``(d, d_V)`` -- the paper's matrices (exacthess's weights transposed).
        A: ``(n, T, T)`` attention matrices (:func:`attention_matrix`); only ``kind="softmax"``
            uses them beyond ``F = A X W_V`` (through :math:`P_t`, ``D`` and :math:`C_t`).
        scale: the rational score scale ``s``; kind: ``"softmax"`` or ``"linear"``.

    Returns:
        ``{"Ho.QQ": ..., "Hf.KV": ...}``: exact object matrices in exacthess's layout (module
        docstring), the row parameter first (``"Ho.QV"`` has ``d_K d`` rows, ``d_V d`` columns).
    """
    _check_kind(kind)
    X, Y, A = _samples(X, "X"), _samples(Y, "Y"), _samples(A, "A")
    WQ, WK, WV = _q(W_Q), _q(W_K), _q(W_V)
    s = scale if isinstance(scale, fmpq) else fmpq(scale)
    n, T, d = X.shape
    if WQ.shape != WK.shape or WQ.ndim != 2 or WQ.shape[0] != d or WV.ndim != 2 or WV.shape[0] != d:
        raise InvalidValueError(f"W_Q, W_K, W_V have shapes {WQ.shape}, {WK.shape}, {WV.shape}; expected (d, d_K), "
                                f"(d, d_K), (d, d_V) with d = {d} (the paper's matrices, not exacthess's weights)")
    if Y.shape != (n, T, WV.shape[1]) or A.shape != (n, T, T):
        raise InvalidValueError(f"Y, A have shapes {Y.shape}, {A.shape}; expected {(n, T, WV.shape[1])}, {(n, T, T)}")
    total = None
    for x, y, a in zip(X, Y, A):
        one = _per_sample(x, WQ, WK, WV, y, a, s, kind)
        total = one if total is None else {b: total[b] + one[b] for b in BLOCKS}
    return total


def assemble(blocks: dict, part: str) -> np.ndarray:
    """The full ``p x p`` matrix of ``part`` (``"Ho"`` or ``"Hf"``) in the order W_Q, W_K, W_V, the
    lower blocks the transposes of the upper ones."""
    if part not in ("Ho", "Hf"):
        raise InvalidOptionError(f"part = {part!r} is not a Hessian part; expected 'Ho' or 'Hf'")
    names = "QKV"
    rows = []
    for r in names:
        row = []
        for c in names:
            key = f"{part}.{r}{c}" if f"{r}{c}" in PAIRS else None
            row.append(blocks[key] if key else blocks[f"{part}.{c}{r}"].T)
        rows.append(np.hstack(row))
    return np.vstack(rows)


def paper_weights(params) -> tuple:
    """``(W_Q, W_K, W_V)`` (the paper's ``(d, d_K)``, ``(d, d_K)``, ``(d, d_V)``) from exacthess's
    parameter list ``[weight_Q, weight_K, weight_V]`` (each ``(out, in)``)."""
    return tuple(_q(p).T for p in params)


def exacthess_params(W_Q, W_K, W_V) -> list:
    """exacthess's parameter list ``[weight_Q, weight_K, weight_V]`` from the paper's matrices."""
    return [_q(W).T.copy() for W in (W_Q, W_K, W_V)]
