r"""Claims on the self-attention Hessian *as printed* and on its structure, judged exactly against
the graph engine (``[ormaniec2025]``, ``[petrov2025]`` in docs/references.md).

* ``attention.softmax.printed.<block>`` (:data:`PRINTED_CLAIMS`): the printed block of
  :mod:`~exacthess.experiments.claims.attention_printed` (paper layout ``vec_r``, loss
  :math:`\tfrac{1}{L d_V}\|F - Y\|^2`), mapped to exacthess's layout and loss, equals the engine's block
  at every point of :func:`~exacthess.experiments.claims.attention_claims.attention_points`.
  ``...printed.Hf.QK.literal``: the last term of ``Hf.QK`` read literally, with the printed size
  :math:`d_V^2 \times d_V` of ``S`` and ``S \otimes I_{d_K}`` as one factor -- not a well-formed product
  (``refuted``, the shapes are the counterexample).
* ``attention.<kind>.Ho.psd``: :math:`H_o = J^\top J` is positive semi-definite (exact symmetric
  elimination over Q at every point; a Gram matrix, so this is also a proof). The same cases record
  whether it is *definite*: it is not at degenerate points.
* ``attention.<kind>.Hf.indefinite``: :math:`H_f` is indefinite at some point (neither it nor
  :math:`-H_f` is PSD, exactly), with rational certificate vectors ``v``, ``w``:
  :math:`v^\top H_f v < 0 < w^\top H_f w`.
* ``attention.<kind>.growth.<block>``: the growth law in the input scale :math:`X \to \sigma X` used for
  the paper's figures (the exponents of ``get_exponent`` in the authors' notebook): the block is
  :math:`\sum_k \sigma^k C_k` over the listed exponents, exactly, with :math:`C_{k_{\min}} \ne 0`.
  Softmax is checked at :math:`W_Q = 0` (uniform attention, independent of :math:`\sigma`).

>>> r = structure_claim("attention.linear.Ho.psd")
>>> str(r.verdict), len(r.cases)
('holds', 6)
"""

from __future__ import annotations

import numpy as np
from flint import fmpq, fmpq_mat

from ...certify.theorems import is_psd
from ...core.errors import InvalidOptionError
from ...statements.verdicts import Verdict, decided
from .attention import KINDS
from .attention_claims import attention_points, engine_parts
from .attention_printed import PRINTED, printed_blocks, printed_operators, to_exacthess
from .result import Case, ClaimResult, combine

__all__ = ["PRINTED_CLAIMS", "STRUCTURE_CLAIMS", "GROWTH", "printed_case", "structure_claim", "certificate_vectors"]

#: printed claim id -> block of attention_printed.PRINTED (or "Hf.QK.literal")
PRINTED_CLAIMS = {f"attention.softmax.printed.{b}": b for b in PRINTED + ("Hf.QK.literal",)}
#: (kind, block) -> the exponents k of sigma^k (the notebook's get_exponent: linear 2*3^1 = 6; softmax Q: H_o 6,
#: H_f 5; V: H_o 2); softmax Hf.QQ has the sigma^6 part of the residual's own growth beside sigma^5
GROWTH = {("linear", "Ho.QQ"): (6,), ("linear", "Ho.VV"): (6,), ("softmax", "Ho.QQ"): (6,),
          ("softmax", "Ho.VV"): (2,), ("softmax", "Hf.QQ"): (5, 6)}
STRUCTURE_CLAIMS = {**{f"attention.{k}.Ho.psd": (k, "psd") for k in KINDS},
                    **{f"attention.{k}.Hf.indefinite": (k, "indefinite") for k in KINDS},
                    **{f"attention.{k}.growth.{b}": (k, b) for (k, b) in GROWTH}}
_SHAPE = {"Q": "k", "K": "k", "V": "d"}


def _dims(point):
    n, L, d = point["X"].shape
    return n, L, d, point["W_Q"].shape[1]


def _slice(r: str, d: int, k: int) -> slice:
    return {"Q": slice(0, k * d), "K": slice(k * d, 2 * k * d), "V": slice(2 * k * d, 2 * k * d + d * d)}[r]


def _fro2(M) -> fmpq:
    return sum((v * v for v in np.asarray(M).ravel()), fmpq(0))


def _nums(point) -> dict:
    return {name: [str(v) for v in np.asarray(point[name]).ravel()] for name in ("X", "Y", "W_Q", "W_K", "W_V")}


def printed_case(point: dict, block: str, *, note: str = "") -> Case:
    """The printed ``block`` against the engine at one softmax point (``refuted`` with the point if not equal)."""
    n, L, d, k = _dims(point)
    nums = {"n, L, d_V, d_K": [n, L, d, k], "scale (1/sqrt(d_K))": str(point["scale"])}
    if block == "Hf.QK.literal":
        op = printed_operators(point["X"][0], point["W_Q"], point["W_K"], point["W_V"], point["Y"][0],
                               scale=point["scale"])
        left = (d, op["Z1"].shape[1] * d)           # R_{d_V} (I_L x W_V^T x I_{d_V}) (Z_1 x I_{d_V}): d x d^3
        right = (d * d * k, d * k)                  # S (printed d^2 x d) kron I_{d_K}
        nums.update({"S as printed": [d * d, d], "S as its formula gives": list(op["S"].shape),
                     "(... (Z_1 x I)) shape": list(left), "(S x I_{d_K}) shape (printed S)": list(right),
                     "well-formed (a d_V d_K x d_V d_K block)": left[1] == right[0] and (left[0], right[1]) == (d * k, d * k)})
        ok = nums["well-formed (a d_V d_K x d_V d_K block)"]
    else:
        r, c = block.split(".")[1]
        shape = {"Q": (d, k), "K": (d, k), "V": (d, d)}
        total = None
        for x, y in zip(point["X"], point["Y"]):
            b = printed_blocks(x, point["W_Q"], point["W_K"], point["W_V"], y, scale=point["scale"])[block]
            total = b if total is None else total + b
        mine = to_exacthess(total, shape[r], shape[c], L, d)
        eng = engine_parts(point)[block[:2]][_slice(r, d, k), _slice(c, d, k)]
        fro2 = _fro2(mine - eng)
        nums.update({f"{block}: printed == engine": fro2 == 0, f"{block}: |printed - engine|_F^2": fro2,
                     "engine block nonzero": _fro2(eng) != 0})
        ok = fro2 == 0
    nums.update(_nums(point))
    return Case(f"self-attention (softmax), printed {block}", {}, "mse", n, 0, nums,
                {"engine": "exacthess.hessian over Q at the softmax stand-ins"}, decided(ok, binding=False).verdict,
                True, command=f"exacthess.claims.claim('attention.softmax.printed.{block}')", note=note)


def certificate_vectors(H: np.ndarray) -> tuple:
    """Rational ``(v, w)`` with ``v^T H v < 0 < w^T H w`` (checked exactly; found from float
    eigenvectors rounded to multiples of 1/1024), or ``None`` for a side without one."""
    Hf = np.array(H, dtype=float)
    vals, vecs = np.linalg.eigh((Hf + Hf.T) / 2)
    out = []
    for idx, sign in ((0, -1), (len(vals) - 1, 1)):
        v = [fmpq(int(round(x * 1024)), 1024) for x in vecs[:, idx]]
        q = sum((v[i] * H[i, j] * v[j] for i in range(len(v)) for j in range(len(v))), fmpq(0))
        out.append((v, q) if q * sign > 0 else None)
    return tuple(out)


def _structure_case(point: dict, kind: str, what: str) -> Case:
    n, L, d, k = _dims(point)
    parts = engine_parts(point)
    nums = {"n, L, d, d_K, d_V": [n, L, d, k, point["W_V"].shape[1]]}
    if what == "psd":
        H = parts["Ho"]
        ok = is_psd(H)
        nums.update({"H_o PSD (exact elimination over Q)": ok, "H_o positive definite": is_psd(H, definite=True),
                     "rank H_o": fmpq_mat(*H.shape, list(H.flat)).rank(), "size": H.shape[0]})
    else:
        H = parts["Hf"]
        psd, nsd = is_psd(H), is_psd(-H)
        ok = not psd and not nsd
        nums.update({"H_f PSD": psd, "-H_f PSD": nsd, "H_f indefinite (exact)": ok})
        neg, pos = certificate_vectors(H) if ok else (None, None)
        for name, cert in (("v (v^T H_f v < 0)", neg), ("w (w^T H_f w > 0)", pos)):
            if cert is not None:
                nums[name] = [str(x) for x in cert[0]]
                nums[name.split(" ")[0] + "^T H_f " + name.split(" ")[0]] = str(cert[1])
    nums.update(_nums(point))
    return Case(f"self-attention ({kind}), {what}", {}, "mse", n, 0, nums,
                {"engine": "exacthess.hessian over Q" + (" at the softmax stand-ins" if kind == "softmax" else "")},
                decided(ok, binding=False).verdict, True, note=point["degenerate"])


def _growth_case(point: dict, kind: str, block: str, exps: tuple) -> Case:
    n, L, d, k = _dims(point)
    r, c = block.split(".")[1]
    if kind == "softmax":
        point = {**point, "W_Q": np.full(point["W_Q"].shape, fmpq(0), dtype=object)}

    def blk(sig):
        p = {**point, "X": np.vectorize(lambda v: v * sig, otypes=[object])(point["X"])}
        return engine_parts(p)[block[:2]][_slice(r, d, k), _slice(c, d, k)]
    sig = [fmpq(i + 1) for i in range(len(exps))]
    B = [blk(s) for s in sig]
    V = fmpq_mat(len(exps), len(exps), [s ** e for s in sig for e in exps]).inv()
    C = [sum((V[i, j] * B[j] for j in range(len(exps))), np.zeros(B[0].shape, dtype=object) * fmpq(0))
         for i in range(len(exps))]
    checks = {}
    for s in (fmpq(1, 2), fmpq(3)):
        checks[str(s)] = _fro2(blk(s) - sum((s ** e * Ck for e, Ck in zip(exps, C)), C[0] * 0)) == 0
    lead = _fro2(C[0]) != 0
    nums = {"exponents": list(exps), "law exact at sigma = 1/2, 3": checks, f"C_{exps[0]} nonzero": lead,
            "n, L, d, d_K": [n, L, d, k], **_nums(point)}
    ok = all(checks.values()) and (lead or _fro2(B[0]) == 0)
    return Case(f"self-attention ({kind}), {block}(sigma X)", {}, "mse", n, 0, nums,
                {"engine": "exacthess.hessian over Q"}, decided(ok, binding=False).verdict, True, note=point["degenerate"])


def structure_claim(claim_id: str) -> ClaimResult:
    """A claim of :data:`PRINTED_CLAIMS` or :data:`STRUCTURE_CLAIMS` at the points of
    :func:`~exacthess.experiments.claims.attention_claims.attention_points`.

    Raises:
        InvalidOptionError: an unknown id (the known ones are listed)."""
    cmd = f"exacthess.claims.claim({claim_id!r})"
    if claim_id in PRINTED_CLAIMS:
        block = PRINTED_CLAIMS[claim_id]
        pts = attention_points("softmax")
        cases = [printed_case(p, block, note=p["degenerate"]) for p in pts[:1 if block.endswith("literal") else None]]
        verdict, cert = combine(cases)
        return ClaimResult(claim_id, f"the printed {block} block of [ormaniec2025] (as restated in [petrov2025]), "
                                     "mapped to exacthess's layout and loss, equals the engine's block",
                           verdict, Verdict.HOLDS, cert, cases, command=cmd,
                           summary=f"printed == engine at {sum(c.verdict == 'holds' for c in cases)} of {len(cases)} "
                                   "points" if not block.endswith("literal") else "the literal product is not well-formed",
                           notes=["softmax values are the exact rational stand-ins", "1/sqrt(d_K) is the point's "
                                  "rational scale s", "loss 1/(L d_V)||F - Y||^2: exacthess's block is L d_V / 2 times it"])
    if claim_id not in STRUCTURE_CLAIMS:
        raise InvalidOptionError(f"claim id {claim_id!r} is not a printed or structural attention claim; expected one "
                                 f"of {', '.join(list(PRINTED_CLAIMS) + list(STRUCTURE_CLAIMS))}")
    kind, what = STRUCTURE_CLAIMS[claim_id]
    pts = attention_points(kind)
    if what in ("psd", "indefinite"):
        cases = [_structure_case(p, kind, what) for p in pts]
        verdict, cert = combine(cases, all_must_hold=what == "psd")
        text = ("H_o is positive semi-definite" if what == "psd" else "H_f is indefinite (at some point)")
    else:
        cases = [_growth_case(p, kind, what, GROWTH[(kind, what)]) for p in pts]
        verdict, cert = combine(cases)
        text = f"{what}(sigma X) = sum of sigma^k C_k, k in {GROWTH[(kind, what)]}"
    return ClaimResult(claim_id, f"{text}: one {kind} self-attention layer, MSE ([ormaniec2025])", verdict,
                       Verdict.HOLDS, cert, cases, command=cmd,
                       summary=f"{sum(c.verdict == 'holds' for c in cases)} of {len(cases)} points hold")
