r"""Where floats fail, measured: float32 / float64 Hessian ranks against certified exact ranks.

``exacthess reproduce float-atlas`` runs a grid of linear networks at realistic seeded points
(``point="gaussian"``: weights about :math:`N(0, 1/\text{fan\_in})`, biases about
:math:`N(0, 0.01/\text{fan\_in})`, data and targets about :math:`N(0, 1)`, exact in float32) and,
for each, compares the rank that numpy's ``matrix_rank(..., hermitian=True)`` (default tolerance) gives for
``H_L``, ``H_o`` and ``H_f`` computed in float32 and in float64 (the whole pipeline in that
precision, :mod:`exacthess.verification.floats`) with the certified exact rank.

Families (``L`` hidden layers; with and without biases):

* ``fcn-equal``: ``FCN(8, (8,) * L, 8)``, ``n = 16`` samples, ``L = 1..10``;
* ``fcn-bottleneck``: ``FCN(6, widths, 6)`` with widths 6 except the middle hidden layer
  (index ``L // 2``) of width 2, ``n = 12``, ``L = 1..10``;
* ``cnn1d``: ``CNN((24,), (4,) * L, 3, 4)`` (kernel 3, no padding), ``n = 48``, ``L = 1..6``;
* ``cnn2d``: ``CNN((11, 11), (2,) * L, 3, 3)`` (3x3 kernels, no padding), ``n = 50``, ``L = 1..5``.

That is 62 networks per seed (``quick``: 7 of them, without biases). For each matrix and float type the
comparison is *decided* when the exact rank is certified (wrong iff the float rank differs;
error = the difference), or, for a rank not certified within the budget, when the float rank
lies outside the proven bounds (wrong; error measured to the nearer bound, a lower bound on
the true error). Otherwise it is *undecided* and left out of the rates. A float rank that
could not be computed (overflow) is wrong, with no size.

>>> [c["family"] for c in atlas_grid(quick=True)][:4]
['fcn-equal', 'fcn-equal', 'fcn-bottleneck', 'fcn-bottleneck']
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..core.validate import check_int
from ..hessian.problem import make_problem
from ..hessian.ranks import certified_ranks
from ..models.architectures import CNN, FCN
from ..verification.floats import DTYPES, float_ranks

__all__ = ["FAMILIES", "MATRICES", "atlas_grid", "run_atlas", "summarise", "compare", "AtlasResult"]

FAMILIES = ("fcn-equal", "fcn-bottleneck", "cnn1d", "cnn2d")
MATRICES = ("H_L", "H_o", "H_f")


def _bottleneck(L: int, width: int = 6, narrow: int = 2) -> tuple:
    w = [width] * L
    w[L // 2] = narrow
    return tuple(w)


def _network(family: str, L: int, bias: bool):
    """``(architecture, n_samples)`` of one grid point."""
    if family == "fcn-equal":
        return FCN(8, (8,) * L, 8, bias=bias), 16
    if family == "fcn-bottleneck":
        return FCN(6, _bottleneck(L), 6, bias=bias), 12
    if family == "cnn1d":
        return CNN((24,), (4,) * L, 3, 4, bias=bias), 48
    return CNN((11, 11), (2,) * L, 3, 3, bias=bias), 50


def atlas_grid(quick: bool = False, seeds=(0,)) -> list[dict]:
    """The grid: one dict per network (``family``, ``depth``, ``bias``, ``seed``, ``arch``, ``n``)."""
    depths = {"fcn-equal": range(1, 11), "fcn-bottleneck": range(1, 11), "cnn1d": range(1, 7), "cnn2d": range(1, 6)}
    if quick:
        depths = {"fcn-equal": (1, 5), "fcn-bottleneck": (1, 4), "cnn1d": (1, 3), "cnn2d": (1,)}
    out = []
    for seed in seeds:
        for family in FAMILIES:
            for L in depths[family]:
                for bias in ((False,) if quick else (False, True)):
                    arch, n = _network(family, L, bias)
                    out.append(dict(family=family, depth=L, bias=bias, seed=seed, arch=arch, n=n))
    return out


def _measure(case: dict, budget_seconds: float) -> dict:
    t0 = time.perf_counter()
    arch = case["arch"]
    problem = make_problem(arch, n_samples=case["n"], seed=case["seed"], point="gaussian")
    ranks, info, _ = certified_ranks(problem, seed=case["seed"], budget_seconds=budget_seconds, block_columns=False)
    t1 = time.perf_counter()
    fr = float_ranks(problem, MATRICES)
    t2 = time.perf_counter()
    return {
        "family": case["family"], "depth": case["depth"], "bias": case["bias"], "seed": case["seed"],
        "architecture": repr(arch), "spec": arch.to_spec(), "n_params": arch.n_params, "n_samples": case["n"],
        "exact": {k: int(ranks[k]) for k in MATRICES},
        "bounds": {k: [int(info[k].lower), int(info[k].upper)] for k in MATRICES},
        "certified": {k: bool(info[k].certified) for k in MATRICES},
        **{dt: {k: fr[k][dt] for k in MATRICES} for dt in DTYPES},
        "exact_seconds": t1 - t0, "float_seconds": t2 - t1,
    }


def compare(exact: int, lower: int, upper: int, certified: bool, f: int | None) -> tuple[str, int | None]:
    """``(status, error)`` of a float rank ``f`` against an exact rank and its proven bounds.

    ``status`` is ``"agrees"``, ``"wrong"`` or ``"undecided"``; ``error`` is ``f - exact``
    (certified), the signed distance to the nearer proven bound (not certified, ``f`` outside
    the bounds), or None (undecided, or ``f`` is None: the float computation overflowed).

    >>> compare(10, 10, 10, True, 7), compare(10, 9, 12, False, 11), compare(10, 9, 12, False, 5)
    (('wrong', -3), ('undecided', None), ('wrong', -4))
    """
    if f is None:
        return "wrong", None
    if certified:
        return ("agrees", 0) if f == exact else ("wrong", f - exact)
    if f < lower:
        return "wrong", f - lower
    if f > upper:
        return "wrong", f - upper
    return "undecided", None


def _cell(records: list[dict], dtype: str, matrices=MATRICES) -> dict:
    res = [compare(r["exact"][m], *r["bounds"][m], r["certified"][m], r[dtype][m]) for r in records for m in matrices]
    decided = [(s, e) for s, e in res if s != "undecided"]
    wrong = [(s, e) for s, e in decided if s == "wrong"]
    errs = [abs(e) for _, e in decided if e is not None]
    werrs = [abs(e) for _, e in wrong if e is not None]
    return {"comparisons": len(res), "decided": len(decided), "disagreements": len(wrong),
            "rate": len(wrong) / len(decided) if decided else None,
            "mean_abs_error": sum(errs) / len(errs) if errs else None, "max_abs_error": max(errs, default=None),
            "mean_abs_error_when_wrong": sum(werrs) / len(werrs) if werrs else None,
            "overflows": sum(1 for _, e in wrong if e is None),
            "below": sum(1 for _, e in wrong if e is not None and e < 0),
            "above": sum(1 for _, e in wrong if e is not None and e > 0)}


def summarise(records: list[dict]) -> dict:
    """Per family and depth, per family, per matrix and overall: for each dtype, how many
    (network, matrix) comparisons disagree with the certified exact rank and by how much."""
    def group(key):
        out: dict = {}
        for r in records:
            out.setdefault(key(r), []).append(r)
        return out
    by_fd = group(lambda r: (r["family"], r["depth"]))
    return {
        "by_family_depth": [{"family": f, "depth": d, "networks": len(rs), **{dt: _cell(rs, dt) for dt in DTYPES}}
                            for (f, d), rs in sorted(by_fd.items(), key=lambda kv: (FAMILIES.index(kv[0][0]), kv[0][1]))],
        "by_family": [{"family": f, "networks": len(rs), **{dt: _cell(rs, dt) for dt in DTYPES}}
                      for f, rs in sorted(group(lambda r: r["family"]).items(), key=lambda kv: FAMILIES.index(kv[0]))],
        "by_matrix": [{"matrix": m, **{dt: _cell(records, dt, (m,)) for dt in DTYPES}} for m in MATRICES],
        "overall": {"networks": len(records), **{dt: _cell(records, dt) for dt in DTYPES}},
        "uncertified": sum(1 for r in records for m in MATRICES if not r["certified"][m]),
    }


@dataclass
class AtlasResult:
    """The measured records (one per network) and their summary (:func:`summarise`)."""

    records: list
    summary: dict
    seconds: float
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"settings": self.settings, "seconds": self.seconds, "summary": self.summary, "records": self.records}


def run_atlas(quick: bool = False, seeds=(0,), budget_seconds: float = 60.0, progress=None) -> AtlasResult:
    """Measure the whole grid.

    Args:
        quick: the small grid (7 networks).
        seeds: seeds of the points (each seed runs the whole grid).
        budget_seconds: certification budget per rank.
        progress: callable ``(done, total, case)`` called after each network, or None.
    """
    seeds = tuple(check_int(s, f"seeds[{i}]", minimum=0) for i, s in enumerate(seeds))
    grid = atlas_grid(quick, seeds)
    t0 = time.perf_counter()
    records = []
    for i, case in enumerate(grid):
        records.append(_measure(case, budget_seconds))
        if progress:
            progress(i + 1, len(grid), case)
    settings = {"quick": quick, "seeds": list(seeds), "point": "gaussian", "dtypes": list(DTYPES),
                "matrices": list(MATRICES), "rank": "numpy.linalg.matrix_rank(hermitian=True), default tolerance"}
    return AtlasResult(records, summarise(records), time.perf_counter() - t0, settings)
