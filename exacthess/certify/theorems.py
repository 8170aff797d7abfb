r"""The theorems the checker applies: each turns certified ranks of named factors into a bound.

Every entry states its identity (proved in ``docs/certificates.md``), checks its premises from the
matrix source, checks its parts recursively with the kernel (:mod:`exacthess.certify.checker`) and
returns ``(lower, upper)``. The statement -- which factors, which formula -- is written here,
independently of the code that proposes the certificate; a certificate listing other factors is
rejected.

* ``sum`` -- :math:`\mathrm{rank}(A + B) \le \mathrm{rank}\,A + \mathrm{rank}\,B`
  (``H_L = H_o + H_f`` by definition).
* ``block_columns`` -- the rank of a matrix is at most the sum of the ranks of its column blocks.
* ``chain`` -- block column ``l`` of ``H_f`` (or ``H_L``) of a *linear* network:
  :math:`\mathrm{rank} \le \sum_i \dim X_i(\dim Y_i - \dim Y_{i-1})` over the layer chain
  (:mod:`exacthess.hessian.structure`); every factor certified, the ``Y`` dimensions non-decreasing.
* ``jacobian_chain`` -- the same for the stacked Jacobian of a linear network.
* ``composite`` -- block column ``l`` of a linear CNN: :math:`c_l\,\mathrm{rank}\,\varepsilon +
  c_{l-1}\,\mathrm{rank}\,\phi - \delta` (:mod:`exacthess.hessian.composite`), ``delta = 1`` only
  with a certified witness that the gradient is shared; optionally the rank of the whole spanning
  matrix.
* ``gauss_newton`` (equal) -- :math:`\mathrm{rank}\sum_i J_i^\top A_i J_i = \mathrm{rank}(C J)` when
  every :math:`A_i` is positive semi-definite and :math:`\ker C_i = \ker A_i` (checked exactly per
  sample).
* ``gram`` (equal) -- :math:`\mathrm{rank}\,\mathcal J^\top (G\otimes I)\mathcal J =
  \mathrm{rank}\,\mathcal J` when ``G`` is positive definite (checked exactly).
* ``no_curvature`` -- a matrix built from :math:`\sigma''` vanishes when :math:`\sigma'' \equiv 0`.
* ``one_hidden`` -- :math:`H_f = \begin{pmatrix}0 & B\\ B^\top & 0\end{pmatrix}` with ``B`` block
  diagonal over hidden channels and zero on the output biases (one hidden layer,
  :math:`\sigma'' \equiv 0`): :math:`\mathrm{rank}\,H_f = 2\sum_o \mathrm{rank}\,B_o`.
* ``block_diagonal`` (equal) -- the rank of a block-diagonal matrix is the sum of its blocks' ranks.
* ``product`` -- a matrix defined as a product has rank at most that of each factor.
* ``minor_columns`` (lower bound) -- the columns of a nonsingular minor ``M[R, C]`` are independent,
  so a block of columns ``S`` has rank at least ``|C & S|``.
"""

from __future__ import annotations

import numpy as np
from flint import fmpq

__all__ = ["apply_theorem", "THEOREMS", "LABELS", "is_psd", "chain_names", "jacobian_chain_names"]


class _Premise(Exception):
    """A premise of a theorem does not hold (or the certificate does not match its statement)."""


def _qrank(A) -> int:
    from flint import fmpq_mat
    A = np.asarray(A, dtype=object)
    if not A.size:
        return 0
    return fmpq_mat(A.shape[0], A.shape[1], [v if isinstance(v, fmpq) else fmpq(int(v)) for v in A.flat]).rank()


def is_psd(A, definite: bool = False) -> bool:
    r"""Exact test that a symmetric rational matrix is positive semi-definite (``definite``: definite):
    symmetric Gaussian elimination with diagonal pivots over :math:`\mathbb Q`; a zero pivot must
    have a zero row, a negative pivot refutes it."""
    A = [[v if isinstance(v, fmpq) else fmpq(int(v)) for v in row] for row in np.asarray(A, dtype=object)]
    n = len(A)
    if any(A[i][j] != A[j][i] for i in range(n) for j in range(i)):
        return False
    for k in range(n):
        piv = A[k][k]
        if piv < 0 or (definite and piv == 0):
            return False
        if piv == 0:
            if any(A[k][j] != 0 for j in range(k, n)):
                return False
            continue
        for i in range(k + 1, n):
            f = A[i][k] / piv
            if f != 0:
                for j in range(k, n):
                    A[i][j] -= f * A[k][j]
    return True


def _parts(node, source, out, check, certified=False):
    res = []
    for part in node.parts:
        sub = check(part, source)
        out.failures += sub.failures
        if certified and not sub.certified:
            raise _Premise(f"factor {part.matrix} is not certified ({sub.lower} <= rank <= {sub.upper})")
        res.append(sub)
    return res


def _names(node):
    return [p.matrix for p in node.parts]


def _block(cert, source, l: int, names=("H_f", "H_L")):
    """The certificate must be about block column ``l`` of one of ``names``."""
    layers = source.premise("layers")
    if not 1 <= l <= len(layers):
        raise _Premise(f"no layer {l}")
    start, size = layers[l - 1]["start"], layers[l - 1]["n_params"]
    if cert.matrix not in names or cert.rows is not None or tuple(cert.cols or ()) != tuple(range(start, start + size)):
        raise _Premise(f"it speaks about block column {l} of {'/'.join(names)}, not this matrix")
    return layers


def _linear(source):
    if not source.premise("activation")["linear"]:
        raise _Premise("the network is not linear")


def chain_names(l: int, L1: int, with_o: bool, output_factor: bool) -> list:
    """The factors ``X_1, Y_1, X_2, Y_2, ...`` of block row ``l``'s chain (see the module docstring)."""
    out = []
    for m in range(l + 1, L1 + 1):
        out += [f"M{l},{m}[:,:n{l}]", f"P{l},{m}"]
    if with_o:
        out += [f"{'CB' if output_factor else 'B'}{l}", f"S{l}"]
    lower_only = not out
    for m in range(1, l):
        out += [f"P{m},{l}[:,:n{l}]", f"M{m},{l}" + ("[:,:n]" if lower_only else "")]
    return out


def jacobian_chain_names(L1: int, output_factor: bool) -> list:
    """The factors ``R_1, B_1, R_2, B_2, ...`` of the stacked Jacobian's chain."""
    return [n for l in range(1, L1 + 1) for n in (f"R{l}", f"{'CB' if output_factor else 'B'}{l}")]


def _chain_sum(subs) -> int:
    dim, prev = 0, 0
    for x, y in zip(subs[0::2], subs[1::2]):
        if y.upper < prev:
            raise _Premise("the Y factors' dimensions decrease: not a chain")
        dim += x.upper * (y.upper - prev)
        prev = y.upper
    return dim


def _output_factor(node, source, out, check) -> bool:
    """``args["output_factor"]``: the output gradients lie in ``row(C)`` (parts ``C``, ``C+G`` with equal
    certified ranks, ``C`` the loss's kernel factor)."""
    if not node.args.get("output_factor"):
        return False
    extra = [p for p in node.parts if p.matrix in ("C", "C+G")]
    subs = [check(p, source) for p in extra]
    if len(subs) != 2 or not all(s.certified for s in subs) or subs[0].upper != subs[1].upper:
        raise _Premise("the output factor's premise rank [C; G^T] = rank C is not certified")
    return True


def _chain(cert, node, source, out, check):
    _linear(source)
    l, with_o = int(node.args["layer"]), bool(node.args["with_o"])
    layers = _block(cert, source, l, ("H_L",) if with_o else ("H_f",))
    of = _output_factor(node, source, out, check)
    names = [n for n in _names(node) if n not in ("C", "C+G")]
    if names != chain_names(l, len(layers), with_o, of):
        raise _Premise(f"its factors {names} are not the chain of block row {l}")
    subs = _parts(type(node)(node.name, node.args, tuple(p for p in node.parts if p.matrix in names)), source, out,
                  check, certified=True)
    return 0, _chain_sum(subs)


def _jacobian_chain(cert, node, source, out, check):
    _linear(source)
    layers = source.premise("layers")
    of = _output_factor(node, source, out, check)
    names = [n for n in _names(node) if n not in ("C", "C+G")]
    if cert.matrix not in ("J", "CJ") or names != jacobian_chain_names(len(layers), of):
        raise _Premise(f"its factors {names} are not the layer chain of the stacked Jacobian")
    subs = _parts(type(node)(node.name, node.args, tuple(p for p in node.parts if p.matrix in names)), source, out,
                  check, certified=True)
    return 0, _chain_sum(subs)


def _composite(cert, node, source, out, check):
    _linear(source)
    l, with_o = int(node.args["layer"]), bool(node.args["with_o"])
    layers = _block(cert, source, l, ("H_L",) if with_o else ("H_f",))
    by = {p.matrix: p for p in node.parts}
    expected = {f"eps{l},{int(with_o)}", f"phi{l}", f"grad{l}", f"datagrad{l}", f"epsW{l},{int(with_o)}",
                f"Efull{l},{int(with_o)}"}
    if not set(by) <= expected:
        raise _Premise(f"its parts {sorted(by)} are not the composite pieces of block row {l}")
    subs = {k: check(p, source) for k, p in by.items()}
    for s in subs.values():
        out.failures += s.failures
    eps, phi = subs.get(f"eps{l},{int(with_o)}"), subs.get(f"phi{l}")
    present = source.premise(("composite_parts", l, with_o))  # which of eps / phi the block row has
    if (eps is not None, phi is not None) != present or not all(s.certified for s in (eps, phi) if s is not None):
        raise _Premise("eps / phi missing or not certified")
    bound = (layers[l - 1]["c_out"] * eps.upper if eps else 0) + (layers[l - 1]["c_in"] * phi.upper if phi else 0)
    if int(node.args.get("minus", 0)):
        if eps is None or phi is None:
            raise _Premise("the shared gradient needs both parts")
        if not source.premise("bias"):
            if subs.get(f"grad{l}") is None or subs[f"grad{l}"].lower < 1:
                raise _Premise("no certified witness that the gradient g_l is nonzero")
        else:
            w, dg = subs.get(f"epsW{l},{int(with_o)}"), subs.get(f"datagrad{l}")
            if w is None or dg is None or not w.certified or w.upper != eps.upper or dg.lower < 1:
                raise _Premise("the data gradient is not certified to lie in both parts")
        bound -= 1
    if f"Efull{l},{int(with_o)}" in subs:
        bound = min(bound, subs[f"Efull{l},{int(with_o)}"].upper)
    return 0, bound


def _gauss_newton(cert, node, source, out, check):
    if cert.matrix != "H_o" or cert.rows is not None or cert.cols is not None or _names(node) != ["CJ"]:
        raise _Premise("it relates H_o to CJ")
    loss = source.premise("loss")
    A, C = loss["hessians"], loss["factors"]
    if C is None:
        raise _Premise("the loss gives no factor C")
    if isinstance(A, str):  # every A_i = I: ker C_i must be 0
        if not isinstance(C, str) and any(_qrank(Ci) != np.shape(Ci)[1] for Ci in C):
            raise _Premise("a factor C_i has a kernel, but A_i = I has none")
        A = []
    for i in range(len(A)):
        Ai = A[i]
        Ci = None if isinstance(C, str) else C[i]
        if Ci is None:  # ker C_i = 0: A_i must be positive definite
            if not is_psd(Ai, definite=True):
                raise _Premise(f"the loss Hessian of sample {i} is not positive definite (C_i = I)")
            continue
        if not is_psd(Ai):
            raise _Premise(f"the loss Hessian of sample {i} is not positive semi-definite")
        ra, rc = _qrank(Ai), _qrank(Ci)
        if not ra == rc == _qrank(np.concatenate([np.asarray(Ai, dtype=object), np.asarray(Ci, dtype=object)])):
            raise _Premise(f"ker C_{i} != ker A_{i} (the loss's factor at sample {i}: ranks {rc}, {ra})")
    sub = _parts(node, source, out, check)[0]
    out.notes.append(f"rank <= {sub.upper}: {sub.upper_by}; {node.how or 'rank H_o = rank (C J)'}")
    return sub.lower, sub.upper


def _gram(cert, node, source, out, check):
    if cert.matrix != "H_o" or _names(node) != ["J"]:
        raise _Premise("it relates H_o to J")
    if not is_psd(source.premise("gram"), definite=True):
        raise _Premise("G is not positive definite")
    sub = _parts(node, source, out, check)[0]
    out.notes.append(f"rank <= {sub.upper}: {sub.upper_by}; {node.how or 'rank H_o = rank J'}")
    return sub.lower, sub.upper


def _no_curvature(cert, node, source, out, check):
    if source.premise("activation")["curvature"] or cert.matrix not in ("C_act", "C_within"):
        raise _Premise("needs an activation with sigma'' = 0, and C_act or C_within")
    return 0, 0


def _one_hidden(cert, node, source, out, check):
    act, layers = source.premise("activation"), source.premise("layers")
    if act["curvature"] or len(layers) != 2 or cert.matrix != "H_f" or cert.rows is not None:
        raise _Premise("needs one hidden layer, sigma'' = 0 and the whole H_f")
    n1, n2 = layers[0]["n_params"], layers[1]["n_params"]
    rows = sorted(i for p in node.parts for i in p.rows)
    cols = sorted(j for p in node.parts for j in p.cols)
    weights2 = sorted(set(range(n1, n1 + n2)) - set(layers[1]["biases"]))  # output biases: no second derivatives
    if rows != list(range(n1)) or cols != weights2 or any(p.matrix != "H_f" for p in node.parts):
        raise _Premise("the blocks B_o do not partition the rows of layer 1 and the weights of layer 2")
    subs = _parts(node, source, out, check)
    return 0, 2 * sum(s.upper for s in subs)


def _sum(cert, node, source, out, check):
    if tuple(_names(node)) != tuple(source.premise(("sum", cert.matrix))) or cert.rows or cert.cols:
        raise _Premise(f"{cert.matrix} is not the sum of {_names(node)}")
    subs = _parts(node, source, out, check)
    return 0, sum(s.upper for s in subs)


def _block_columns(cert, node, source, out, check):
    n = source.shape(cert.matrix)[1] if cert.cols is None else len(cert.cols)
    base = tuple(range(n)) if cert.cols is None else tuple(cert.cols)
    got = sorted(j for p in node.parts for j in (p.cols or ()))
    if any(p.matrix != cert.matrix or p.rows != cert.rows for p in node.parts) or got != sorted(base):
        raise _Premise("its parts are not the column blocks of the matrix")
    subs = _parts(node, source, out, check)
    return 0, sum(s.upper for s in subs)


def _block_diagonal(cert, node, source, out, check):
    blocks = [(p.matrix, p.rows, p.cols) for p in node.parts]
    if blocks != [(n, tuple(r), tuple(c)) for n, r, c in source.premise(("block_diagonal", cert.matrix))]:
        raise _Premise(f"{cert.matrix} is not block diagonal in {_names(node)}")
    subs = _parts(node, source, out, check)
    return sum(s.lower for s in subs), sum(s.upper for s in subs)


def _minor_columns(cert, node, source, out, check):
    """Lower bound: the columns of a verified nonsingular minor ``M[R, C]`` of the whole matrix are
    independent, so ``rank M[:, S] >= |C & S|`` for any set ``S`` of columns."""
    whole = node.parts[0] if len(node.parts) == 1 else None
    if whole is None or whole.matrix != cert.matrix or whole.rows is not None or whole.cols is not None \
            or cert.rows is not None or type(whole.lower).__name__ != "Minor":
        raise _Premise("it needs the whole matrix's certificate with a minor")
    sub = check(type(whole)(matrix=whole.matrix, value=whole.value, lower=whole.lower), source, cross_check=False)
    out.failures += sub.failures
    if sub.lower != len(whole.lower.cols):
        raise _Premise("the whole matrix's minor did not verify")
    cols = set(range(source.shape(cert.matrix)[1]) if cert.cols is None else cert.cols)
    k = sum(j in cols for j in whole.lower.cols)
    out.notes.append(f"rank >= {k}: columns of a verified {sub.lower}-minor of {cert.matrix}")
    return k, source.shape(cert.matrix)[0]


def _product(cert, node, source, out, check):
    allowed = set(source.premise(("factors", cert.matrix)))
    if not node.parts or not set(_names(node)) <= allowed:
        raise _Premise(f"{cert.matrix} is not a product of {_names(node)}")
    subs = _parts(node, source, out, check)
    return 0, min(s.upper for s in subs)


#: short names of the theorems, for messages
LABELS = {"sum": "rank H_L <= rank H_o + rank H_f", "block_columns": "sum of the block columns' bounds",
          "chain": "layer chain theorem", "jacobian_chain": "layer chain of J", "composite": "channel x spatial composite",
          "gauss_newton": "rank H_o = rank (C J)", "gram": "rank H_o = rank J", "no_curvature": "zero: sigma'' = 0",
          "one_hidden": "H_f = [[0, B], [B^T, 0]], B block diagonal", "block_diagonal": "block diagonal",
          "product": "product of certified factors", "minor_columns": "columns of a verified minor"}

THEOREMS = {"sum": _sum, "block_columns": _block_columns, "chain": _chain, "jacobian_chain": _jacobian_chain,
            "composite": _composite, "gauss_newton": _gauss_newton, "gram": _gram, "no_curvature": _no_curvature,
            "one_hidden": _one_hidden, "block_diagonal": _block_diagonal, "product": _product,
            "minor_columns": _minor_columns}


def apply_theorem(cert, node, source, out, check) -> tuple:
    """``(lower, upper)`` from a theorem node; a failed premise drops the bound (``0, min(shape)``)."""
    m, n = source.shape(cert.matrix)
    trivial = min(m if cert.rows is None else len(cert.rows), n if cert.cols is None else len(cert.cols))
    fn = THEOREMS.get(node.name)
    if fn is None:
        out.failures.append(f"{cert.matrix}: unknown theorem {node.name!r}")
        return 0, trivial
    n_notes = len(out.notes)
    try:
        lo, up = fn(cert, node, source, out, check)
    except _Premise as exc:
        out.failures.append(f"{cert.matrix}: theorem {node.name} does not apply: {exc}")
        return 0, trivial
    if len(out.notes) == n_notes or not out.notes[-1].startswith("rank <="):
        out.notes.append(f"rank <= {up}: {node.how or LABELS.get(node.name, node.name)}")
    return lo, min(up, trivial)
