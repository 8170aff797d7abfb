"""The float comparison as a user runs it (exacthess.verification.floats, Row.float_ranks).

Routes: the float matrices are checked against the exact Hessian (entrywise, to the rounding
error of the type); ranks are certified exactly (rank 576 = full rank of a 576 x 576 matrix,
and rank H_o = 64 as in Singh et al. 2021); where torch is installed, torch.func.hessian in
float32/float64 with torch.linalg.matrix_rank is the independent float route. The rank rule
(symmetric eigenvalues for H_o, H_f, H_L, an SVD of the slice for a block column) is checked
against numpy's matrix_rank and against the rule spelled out; the size limit of the default by
monkeypatching it.
"""

import json

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from exacthess import FCN, hessian, verify
from exacthess.errors import NonDifferentiableError
from exacthess.hessian.problem import make_problem, seeded_data, seeded_params
from exacthess.models.quantities import MATRICES, block_column
from exacthess.verification import floats as floats_module
from exacthess.verification.floats import (DTYPES, FLOAT_COLUMNS_LIMIT, float_columns, float_hessians, float_ranks,
                                           matrix_rank, skipped_note)

DEEP = FCN(8, (8,) * 8, 8)  # depth 8, width 8: 576 parameters, n = 16 samples


@pytest.fixture(scope="module")
def deep_report():
    return verify(DEEP, seed=0)


def test_float32_wrong_float64_right_on_a_deep_fcn(deep_report):
    r = deep_report
    assert (r.ranks["H_o"], r.ranks["H_f"], r.ranks["H_L"]) == (64, 576, 576) and r.certified
    rows = {row.quantity: row for row in r.rows}
    for q in ("H_o", "H_f", "H_L"):
        fr = rows[q].float_ranks
        assert set(fr) == set(DTYPES)
        assert fr["float64"] == r.ranks[q] and rows[q].float_rank == fr["float64"]
        assert fr["float32"] < r.ranks[q] and rows[q].float_disagrees
    assert rows["H_L"].float_ranks["float32"] < 576 - 50  # not a borderline miss
    assert any("float32 matrix_rank" in n and "H_L" in n for n in r.notes)
    assert not any(n.startswith("float64 matrix_rank") for n in r.notes)
    d = json.loads(r.to_json())
    row = next(x for x in d["rows"] if x["quantity"] == "H_L")
    assert row["float_ranks"]["float64"] == 576 and row["float_disagrees"] is True
    text = str(r)
    assert "float32" in text and "differs from the exact rank" in text


def test_float_matrices_are_the_hessian_in_that_precision():
    """Entrywise against the exact Hessian: float64 within ~1e-12, float32 within ~1e-4 of the
    largest entry, and computed in float32 (not the exact matrix rounded, which would be
    within 2**-24 of every entry)."""
    arch = FCN(5, (4, 4, 4), 3, bias=True)
    prob = make_problem(arch, n_samples=9, seed=2)
    exact = hessian(arch, n_samples=9, seed=2)
    for name in ("H_o", "H_f", "H_L"):
        E = np.array([float(v) for v in getattr(exact, name).flat]).reshape(arch.n_params, -1)
        scale = np.abs(E).max()
        for dtype, tol in (("float64", 1e-12), ("float32", 1e-4)):
            M = float_hessians(prob, dtype, [name])[name]
            assert M.dtype == np.dtype(dtype)
            assert np.abs(M.astype(np.float64) - E).max() <= tol * scale
        M32 = float_hessians(prob, "float32", [name])[name].astype(np.float64)
        assert not np.array_equal(M32, E.astype(np.float32).astype(np.float64))  # rounding accumulated


def test_hessian_in_a_float_field():
    H = hessian(FCN(3, (2,), 2), n_samples=5, domain="float32")
    assert H.H_L.dtype == np.float32


def test_overflow_is_reported_not_a_rank():
    """At integer points a deep network's Hessian entries exceed float32's range (~3.4e38):
    the float32 pipeline reports no rank, and the row flags it."""
    arch = FCN(2, (2,) * 8, 2)
    r = verify(arch, n_samples=4, seed=0, point="integers")
    row = next(x for x in r.rows if x.quantity == "H_L")
    assert row.float_ranks["float32"] is None and row.float_disagrees
    assert "overflow" in str(r)
    assert float_ranks(make_problem(arch, n_samples=4, seed=0), ["H_L"])["H_L"]["float32"] is not None


def test_torch_float_pipeline_agrees_with_the_finding():
    """torch.func.hessian at the same point: float32 rank of H_L below 576, float64 exactly 576."""
    torch = pytest.importorskip("torch")
    from torch.func import hessian as thessian
    P = [torch.tensor(np.array([float(v) for v in p.flat]).reshape(p.shape)) for p in seeded_params(DEEP, 0)]
    Xo, Yo = seeded_data(DEEP, 16, 0)
    X = torch.tensor(np.array([float(v) for v in Xo.flat]).reshape(Xo.shape))
    Y = torch.tensor(np.array([float(v) for v in Yo.flat]).reshape(Yo.shape))
    sizes = [p.numel() for p in P]
    shapes = [p.shape for p in P]
    ranks = {}
    for dt in (torch.float32, torch.float64):
        def loss(th):
            h = X.to(dt)
            for w, s in zip(torch.split(th, sizes), shapes):
                h = h @ w.reshape(s).T
            return 0.5 * ((h - Y.to(dt)) ** 2).sum()
        theta = torch.cat([p.reshape(-1) for p in P]).to(dt)
        ranks[dt] = int(torch.linalg.matrix_rank(thessian(loss)(theta)))
    assert ranks[torch.float64] == 576 and ranks[torch.float32] < 576


def test_values_beyond_the_float_range_give_no_float_rank():
    """An exact value above float64's range (10**400) overflows to inf in the float pipeline, as float
    arithmetic would: no float rank (None) and a note, never an OverflowError."""
    from fractions import Fraction

    import numpy as np

    import exacthess as eh
    X = np.array([[Fraction(10**400), 1], [1, 2]], dtype=object)
    r = eh.verify(eh.FCN(2, (2,), 2), data=(X, np.ones((2, 2))))
    assert {row.float_ranks["float64"] for row in r.rows if row.float_ranks} == {None}
    assert any("overflows" in n for n in r.notes) and r.certified


# ---- the rule: symmetric eigenvalues for H_o, H_f, H_L, SVDs of slices for block columns, each Hessian once --------

ARCHS = st.builds(lambda d, widths, k, bias, act: FCN(d, tuple(widths), k, bias=bias, activation=act),
                  st.integers(1, 4), st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(1, 3),
                  st.booleans(), st.sampled_from(["linear", "relu"]))


def _eigen_rank(M: np.ndarray) -> int:
    """The rule spelled out: |symmetric eigenvalues| above max |eigenvalue| * max(M.shape) * eps(M.dtype)."""
    s = np.abs(np.linalg.eigvalsh(M))
    return int((s > s.max() * max(M.shape) * np.finfo(M.dtype).eps).sum())


@given(arch=ARCHS, n=st.integers(1, 6), seed=st.integers(0, 50))
def test_float_ranks_are_numpys_hermitian_rank_of_the_float_matrices(arch, n, seed):
    """H_o, H_f, H_L: numpy's matrix_rank(hermitian=True) of the matrix computed in that type (the
    eigenvalue rule); a block column: numpy's matrix_rank (SVD) of the slice of that one H_f."""
    problem = make_problem(arch, n_samples=n, seed=seed)
    try:
        problem.forward  # noqa: B018 - a ReLU pre-activation exactly at its kink has no Hessian
    except NonDifferentiableError:
        assume(False)
    keys = list(MATRICES) + [block_column(l) for l in range(1, len(arch.layers) + 1)]
    ranks = float_ranks(problem, keys)
    for dtype in DTYPES:
        mats = float_hessians(problem, dtype, keys)
        for key in keys:
            M = mats[key]
            if key in MATRICES:
                assert ranks[key][dtype] == np.linalg.matrix_rank(M, hermitian=True) == _eigen_rank(M)
            else:
                assert ranks[key][dtype] == np.linalg.matrix_rank(M)
                assert np.shares_memory(M, mats["H_f"])  # a slice, not a recomputation


@given(p=st.integers(1, 12), r=st.integers(0, 12), scale=st.sampled_from([2.0**-40, 1.0, 2.0**40]),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16))
def test_matrix_rank_follows_numpy_on_symmetric_matrices(p, r, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((p, min(r, p))) * scale
    M = (A @ A.T - 2 * A[:, :1] @ A[:, :1].T).astype(dtype)  # indefinite when r > 1
    assert np.isfinite(M).all()
    assert matrix_rank(M, hermitian=True) == np.linalg.matrix_rank(M, hermitian=True)
    assert matrix_rank(M) == np.linalg.matrix_rank(M)


def test_a_broken_float_matrix_has_no_rank():
    M = np.eye(3)
    M[0, 1] = np.nan
    assert matrix_rank(M, hermitian=True) is None and matrix_rank(np.full((2, 2), np.inf)) is None
    assert matrix_rank(np.zeros((0, 0)), hermitian=True) == 0


def test_each_float_hessian_is_built_once_per_precision(monkeypatch):
    """verify of a three-layer network (H_o, H_f, H_L and three block columns): one float engine per
    precision, H_o and H_f formed once each by it."""
    built, formed = [], []

    class Counting(floats_module.Engine):
        def __init__(self, problem, ring):
            super().__init__(problem, ring)
            built.append(ring)

        def full(self, name):
            formed.append((self.ring, name))
            return super().full(name)
    monkeypatch.setattr(floats_module, "Engine", Counting)
    r = verify(FCN(3, (3, 2), 2), n_samples=5, seed=1, certify="never")
    assert {"H_f[:,1]", "H_f[:,2]", "H_f[:,3]"} <= {row.quantity for row in r.rows if row.float_ranks}
    assert len(built) == 2 and len(set(built)) == 2
    assert sorted(formed, key=str) == sorted({(ring, m) for ring in built for m in ("H_o", "H_f")}, key=str)


def test_float_columns_by_default_up_to_the_limit(monkeypatch):
    """Above FLOAT_COLUMNS_LIMIT parameters the default skips the float columns with a note saying
    how to force them; float_check="always" computes them, False neither computes nor notes."""
    arch = FCN(3, (2,), 2)  # 10 parameters
    assert FLOAT_COLUMNS_LIMIT >= arch.n_params and float_columns(arch, True)
    monkeypatch.setattr(floats_module, "FLOAT_COLUMNS_LIMIT", arch.n_params - 1)
    assert not float_columns(arch, True) and float_columns(arch, "always") and not float_columns(arch, False)
    skipped = verify(arch, n_samples=4)
    assert not any(row.float_ranks for row in skipped.rows)
    assert skipped_note() in skipped.notes
    assert "more than 9 parameters" in skipped_note() and "float_check='always'" in skipped_note()
    forced = verify(arch, n_samples=4, float_check="always")
    assert all(row.float_ranks for row in forced.rows if row.quantity in MATRICES)
    assert not any("skipped" in note for note in forced.notes) and "--float-always" in forced.command
    off = verify(arch, n_samples=4, float_check=False)
    assert not any(row.float_ranks for row in off.rows) and not any("skipped" in n for n in off.notes)


def test_above_the_limit_the_note_is_in_the_report():
    """A real network above the limit (1,500 parameters), without certificates to keep it short."""
    arch = FCN(40, (30,), 10)
    assert arch.n_params > FLOAT_COLUMNS_LIMIT
    r = verify(arch, n_samples=4, certify="never", statements=["singh2021.H_o"])
    assert skipped_note() in r.notes and not any(row.float_ranks for row in r.rows)
    assert f"more than {FLOAT_COLUMNS_LIMIT} parameters" in str(r)


def test_float_ranks_unchanged_on_the_small_cases():
    """The ranks of the module's example and of a four-layer network with biases, as computed before
    the eigenvalue route (SVDs of every matrix then; on these matrices both rules agree)."""
    prob = make_problem(FCN(3, (2,), 2), n_samples=6)
    assert float_ranks(prob, ["H_o", "H_f", "H_L"]) == {
        "H_o": {"float32": 6, "float64": 6}, "H_f": {"float32": 8, "float64": 8},
        "H_L": {"float32": 10, "float64": 10}}
    before = {"H_o": 18, "H_f": 60, "H_L": 72, "H_f[:,1]": 12, "H_f[:,2]": 18, "H_f[:,3]": 18, "H_f[:,4]": 12}
    fr = float_ranks(make_problem(FCN(5, (4, 4, 4), 3, bias=True), n_samples=9, seed=2))
    assert fr == {key: {"float32": r, "float64": r} for key, r in before.items()}


def test_the_limit_is_stated_where_users_read_it():
    """The verify docstring and the --no-float help of every verify command give the limit's value."""
    from exacthess.cli.main import build_parser
    from exacthess.cli.parser import walk
    from exacthess.verification.pipeline import verify as verify_function
    assert f"({FLOAT_COLUMNS_LIMIT}) parameters" in verify_function.__doc__
    helps = {path: a.help for path, p in walk(build_parser()) for a in p._actions if "--no-float" in a.option_strings}
    assert {("verify", "fcn"), ("verify", "cnn"), ("verify", "torch")} <= set(helps)
    assert all(f"up to {FLOAT_COLUMNS_LIMIT} parameters" in h for h in helps.values())
