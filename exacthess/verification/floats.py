r"""The float pipeline a user runs: the same Hessians computed in float32 and float64.

exacthess compares every exact rank with what the usual practice reports: the Hessian
computed in floating point from the *same* point, then numpy's ``matrix_rank`` with its default
tolerance, the way a careful user computes it at that size:

* ``H_o``, ``H_f`` and ``H_L`` are symmetric: ``matrix_rank(M, hermitian=True)``, the number of
  symmetric eigenvalues with :math:`|\lambda_i| > |\lambda|_{\max} \cdot p \cdot \varepsilon_{\text{dtype}}`
  (LAPACK's ``syevd``, several times faster than an SVD; ``torch.linalg.matrix_rank(hermitian=True)``
  is the same rule);
* a block column ``H_f[:,l]`` is a slice of that one ``H_f`` (never recomputed):
  ``matrix_rank(M)``, the singular values above :math:`\sigma_{\max} \cdot \max(m, n) \cdot
  \varepsilon_{\text{dtype}}` (an SVD of the tall slice).

Each float Hessian is built once per precision (one engine per float type, ``H_o`` and ``H_f``
once each, ``H_L = H_o + H_f`` added in that type).

"Computed in floating point" means the whole pipeline: the parameters and data are rounded
to the float type once (exactly, at the seeded ``point="gaussian"``, whose values float32
represents), the data statistics :math:`\tilde\Sigma = \sum_i \tilde x_i \tilde x_i^\top` and
:math:`\hat Y` are formed in that type, and the Hessian engine
(:class:`~exacthess.hessian.engine.Engine`) runs over the float domain
(:data:`~exacthess.core.domains.F32` or :data:`~exacthess.core.domains.F64`), so every product
is rounded in that precision, as in PyTorch or JAX. It is *not* the exact matrix rounded.

Nothing here decides a rank or a verdict: the float ranks are reported next to the certified
ones, and the disagreements are flagged. :func:`exacthess.verify` computes them up to
:data:`FLOAT_COLUMNS_LIMIT` parameters by default (:func:`float_columns`).

>>> from exacthess import FCN
>>> from exacthess.hessian.problem import make_problem
>>> float_ranks(make_problem(FCN(3, (2,), 2), n_samples=6), ["H_o", "H_L"])
{'H_o': {'float32': 6, 'float64': 6}, 'H_L': {'float32': 10, 'float64': 10}}
"""

from __future__ import annotations

import numpy as np

from ..core.calls import THREAD_ABOVE, interruptible
from ..core.domains import F32, F64
from ..core.errors import InvalidOptionError, InvalidTypeError, describe
from ..core.progress import Update
from ..hessian.cost import Cost
from ..hessian.engine import Engine
from ..hessian.problem import Problem
from ..models.quantities import MATRICES, block_column

__all__ = ["DTYPES", "FLOAT_COLUMNS_LIMIT", "float_problem", "float_hessians", "float_ranks", "matrix_rank",
           "symmetric", "check_float_check", "float_columns", "float_cost", "skipped_note"]

#: the float types compared, in the order reported
DTYPES = ("float32", "float64")
_RINGS = {"float32": F32, "float64": F64}
#: ``verify(float_check=True)`` (the default) computes the float columns up to this many parameters:
#: above it, their two precisions cost more than the user's own torch float64 pipeline
#: (``torch.func.hessian``, ``matrix_rank(hermitian=True)``; measured by
#: ``benchmarks/bench_float_columns.py``); ``float_check="always"`` computes them at any size
FLOAT_COLUMNS_LIMIT = 1000

# seconds, coarse (a 2-core machine): the estimate shown before a long verify
_EIGVALSH = 7e-11  # per p^3 of the symmetric eigenvalues of a p x p matrix
_SVD_TALL = 2e-10  # per m n^2 of the singular values of a tall m x n slice
_FLOAT_MAC = 5e-11  # per multiply-add of the per-sample products in a float type


def check_float_check(value) -> bool | str:
    """``verify``'s ``float_check``: True, False (numpy bools accepted) or ``"always"``."""
    if isinstance(value, str):
        if value != "always":
            raise InvalidOptionError(f"float_check = {value!r} is not a known option; expected True, False or 'always'")
        return value
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidTypeError(f"float_check = {describe(value)} has type {type(value).__name__}; "
                               "expected True, False or 'always'")
    return bool(value)


def float_columns(arch, float_check) -> bool:
    """Whether ``verify`` computes the float columns: ``float_check="always"``, or ``float_check=True``
    and at most :data:`FLOAT_COLUMNS_LIMIT` parameters.

    >>> from exacthess import FCN
    >>> float_columns(FCN(20, (30, 30), 10), True), float_columns(FCN(20, (30, 30), 10), "always")
    (False, True)
    """
    if isinstance(float_check, str):
        return float_check == "always"
    return bool(float_check) and arch.n_params <= FLOAT_COLUMNS_LIMIT


def skipped_note() -> str:
    """The note under a report whose float columns were skipped by default (the rule of :func:`float_columns`)."""
    return (f"float32/float64 comparison skipped (more than {FLOAT_COLUMNS_LIMIT} parameters; "
            "float_check='always', --float-always on the command line, computes it)")


def float_cost(arch, n_samples: int, *, sample_free: bool) -> Cost:
    """Memory and time of the float columns: per float type the Hessians (``H_o``, ``H_f``, ``H_L``
    and the eigenvalue routine's copy, ``6 x 8 p^2`` bytes at most), three symmetric eigenvalue
    computations of ``p x p``, the SVDs of the block columns and, off the sample-free route, the
    per-sample products (``n K p^2`` multiply-adds)."""
    p = float(arch.n_params)
    slices = sum(p * float(layer.n_params) ** 2 for layer in arch.layers) if len(arch.layers) > 1 else 0.0
    forms = 0.0 if sample_free else _FLOAT_MAC * float(n_samples) * arch.output_dim * p ** 2
    what = "the float32 / float64 comparison"
    seconds = len(DTYPES) * (3 * _EIGVALSH * p ** 3 + _SVD_TALL * slices + forms)
    return Cost(what, arch.n_params, int(n_samples), ((what, 6 * 8 * p * p),), ((what, seconds),))


def float_problem(problem: Problem, dtype: str) -> Problem:
    """``problem`` with the data statistics formed in ``dtype`` from the rounded data.

    The parameters are rounded by the engine when it converts them; ``Sigma~``, ``Yhat~``,
    ``R`` and ``G`` are recomputed here in ``dtype`` (falling back to the exact statistics
    rounded when the problem does not carry its data).
    """
    ring = _RINGS[dtype]
    if problem.X is None or problem.Y is None:
        return problem
    X, Y = ring.convert(problem.X), ring.convert(problem.Y)
    if problem.aug:
        X = np.concatenate([X, np.ones((X.shape[0], 1), dtype=X.dtype)], axis=1)
    Xt = np.ascontiguousarray(X.T)
    sigma = Xt @ X
    yhat = np.ascontiguousarray(Y.T) @ X
    if X.shape[0] <= X.shape[1]:
        R, G = Xt, ring.eye(X.shape[0])
    else:
        R, G = ring.eye(X.shape[1]), sigma
    return Problem(problem.arch, problem.weights, sigma, yhat, R, G, problem.n_samples, problem.loss,
                   problem.X, problem.Y)


def float_hessians(problem: Problem, dtype: str, quantities=None) -> dict:
    """``H_o``, ``H_f``, ``H_L`` and the block columns ``H_f[:,l]`` computed in ``dtype``.

    Args:
        problem: the exact problem (:func:`~exacthess.hessian.problem.make_problem`).
        dtype: ``"float32"`` or ``"float64"``.
        quantities: keys wanted (default: all of them).
    """
    engine = Engine(float_problem(problem, dtype), _RINGS[dtype])
    arch = problem.arch
    keys = list(MATRICES) + [block_column(l) for l in range(1, len(arch.layers) + 1)]
    want = set(keys if quantities is None else quantities)
    out = {}
    if want & {"H_o", "H_L"}:
        out["H_o"] = engine.full("H_o")
    if want - {"H_o"}:
        out["H_f"] = engine.full("H_f")
    if "H_L" in want:
        out["H_L"] = out["H_o"] + out["H_f"]
    offs = arch.layer_offsets
    for l, layer in enumerate(arch.layers, start=1):
        key = block_column(l)
        if key in want:
            out[key] = out["H_f"][:, offs[l - 1]: offs[l - 1] + layer.n_params]
    return {k: out[k] for k in keys if k in want and k in out}


def symmetric(key: str) -> bool:
    """Whether the quantity ``key`` is a symmetric matrix (``H_o``, ``H_f``, ``H_L``; not a block column)."""
    return key in MATRICES


def matrix_rank(M: np.ndarray, hermitian: bool = False) -> int | None:
    """numpy's ``matrix_rank`` with its default tolerance, in ``M``'s own precision.

    Args:
        M: a float32 or float64 matrix.
        hermitian: ``M`` is symmetric: the rank counts its eigenvalues with
            ``|lambda| > max |lambda| * max(M.shape) * eps(M.dtype)`` (``eigvalsh``, which reads the lower
            triangle), exactly ``np.linalg.matrix_rank(M, hermitian=True)``; otherwise its singular values
            above ``sigma_max * max(M.shape) * eps(M.dtype)`` (an SVD).

    Returns:
        the rank, or ``None`` when the float computation broke down (an overflowed or NaN entry, or an
        eigenvalue or SVD iteration that does not converge): the float pipeline then reports no rank.
    """
    if M.size == 0:
        return 0
    if not np.isfinite(M).all():
        return None
    try:
        if M.shape[0] < THREAD_ABOVE:
            return int(np.linalg.matrix_rank(M, hermitian=hermitian))
        # a long factorisation: Ctrl-C is seen at once
        return int(interruptible(np.linalg.matrix_rank, M, hermitian=hermitian))
    except np.linalg.LinAlgError:
        return None


def float_ranks(problem: Problem, quantities=None, dtypes=DTYPES, progress=None) -> dict:
    """Per quantity, ``{dtype: matrix_rank}`` of the Hessian computed in each float type.

    The rule (module doc): per float type, the Hessians are built once (:func:`float_hessians`);
    ``H_o``, ``H_f``, ``H_L`` are ranked by their symmetric eigenvalues
    (``matrix_rank(M, hermitian=True)``), each block column ``H_f[:,l]``, a slice of ``H_f``, by its
    singular values (``matrix_rank(M)``).

    Args:
        problem: the exact problem.
        quantities: keys such as ``"H_L"`` or ``"H_f[:,2]"`` (default: all).
        dtypes: float types, a subset of :data:`DTYPES`.
        progress: a callable receiving the stages (forming the matrices, the rank of each), or None.

    Returns:
        ``{quantity: {"float32": int | None, "float64": int | None}}`` (None: see :func:`matrix_rank`).
    """
    say = progress or (lambda msg: None)
    out: dict = {}
    done, total = 0, None
    p = problem.arch.n_params
    for dtype in dtypes:
        say(Update(f"float ranks: the Hessians in {dtype}", part="floats"))
        with np.errstate(over="ignore", invalid="ignore"):
            mats = float_hessians(problem, dtype, quantities)
            total = total or len(mats) * len(dtypes)
            for key, M in mats.items():  # done: the ranks finished
                how = "symmetric eigenvalues" if symmetric(key) else "SVD"
                say(Update(f"float ranks: {dtype} {key}, {M.shape[0]} x {M.shape[1]} {how}",
                           stage=f"float ranks ({p} x {p} eigenvalues)", done=done, total=total, part="floats"))
                out.setdefault(key, {})[dtype] = matrix_rank(M, hermitian=symmetric(key))
                done += 1
    return out
