"""exacthess.compare: another library's curvature matrix against the exact one.

Independent route: the errors are recomputed here with Fractions from the floats and the exact
entries; ranks and eigenvalue counts of theirs with numpy's own ``matrix_rank`` and ``eigvalsh``.
"""

import dataclasses
import json
from fractions import Fraction

import numpy as np
import pytest

import exacthess as eh
from exacthess.core.errors import InvalidMatrixError, InvalidOptionError, InvalidTypeError, InvalidValueError, \
    NonFiniteError


@pytest.fixture(scope="module")
def C():
    return eh.curvature(eh.FCN(3, (3,), 2, bias=True, activation="relu"), n_samples=5, seed=1)


def _max_error(T, M) -> Fraction:
    return max(abs(Fraction(float(t)) - Fraction(int(m.p), int(m.q))) for t, m in zip(np.ravel(T), M.flat))


def test_float64_rounding_of_itself_agrees(C):
    T = C.to_numpy()
    c = eh.compare(C, T)
    M = C.hessian
    biggest = max(abs(v) for v in M.flat)
    assert c.ok and c.agrees and c.exit_code == 0 and c.dtype == "float64" and c.shape == (20, 20)
    assert c.max_abs_error == float(_max_error(T, M)) and c.max_exact == float(biggest)
    assert c.eps_units <= 0.5 and c.max_rel_error <= 0.5 * np.finfo(np.float64).eps  # nearest rounding
    assert c.bound == 20 * np.finfo(np.float64).eps * float(biggest)
    assert c.exact_rank == C.rank().value and c.rank_certified
    assert c.their_rank == np.linalg.matrix_rank(T, hermitian=True) == c.exact_rank
    w = np.linalg.eigvalsh(T)
    tol = np.abs(w).max() * 20 * np.finfo(np.float64).eps
    assert c.their_inertia == ((w > tol).sum(), (w < -tol).sum(), (np.abs(w) <= tol).sum())
    assert c.exact_inertia == c.their_inertia and c.inertia_agrees and c.notes == ()


def test_float32_is_within_the_bound_in_units_of_its_eps(C):
    T = C.to_numpy().astype(np.float32)
    c = eh.compare(C, T)
    eps = float(np.finfo(np.float32).eps)
    assert c.dtype == "float32" and c.eps == eps and c.ok
    assert c.max_abs_error == float(_max_error(T, C.hessian))
    assert c.eps_units == pytest.approx(c.max_abs_error / (eps * c.max_exact)) and c.eps_units <= 0.5
    assert c.their_rank == np.linalg.matrix_rank(T, hermitian=True)


def test_a_perturbed_matrix_is_out_of_bound_at_the_entry(C):
    T = C.to_numpy()
    T[3, 5] += 1e-6 * np.abs(T).max()
    c = eh.compare(C, T)
    assert not c.ok and not c.agrees and c.exit_code == 1 and c.worst == (3, 5)
    assert c.max_rel_error == pytest.approx(1e-6, rel=1e-3) and c.eps_units > 20


def test_the_ggn_and_a_hessian_result_and_a_plain_matrix(C):
    c = eh.compare(C, C.to_numpy("ggn"), of="ggn")
    assert c.of == "ggn" and c.agrees and c.exact_rank == C.rank("ggn").value
    d = eh.compare(C.result, C.to_numpy("ggn"), of="ggn")
    e = eh.compare(C.ggn, C.to_numpy("ggn"))
    assert (c.max_abs_error, c.their_rank, c.exact_inertia) == (d.max_abs_error, d.their_rank, d.exact_inertia) == \
        (e.max_abs_error, e.their_rank, e.exact_inertia)


def test_operators_and_callables_are_materialised_column_by_column(C):
    T = C.to_numpy().astype(np.float32)
    ref = eh.compare(C, T)
    calls = []

    def apply(v):
        calls.append(v.dtype)
        return T @ v.astype(np.float32)
    c = eh.compare(C, apply)
    assert len(calls) == 20 and c.source == "callable, 20 products" and c.dtype == "float32"
    assert (c.max_abs_error, c.their_rank, c.their_inertia) == (ref.max_abs_error, ref.their_rank, ref.their_inertia)

    class Operator:  # the duck type: .shape, .dtype and @ on a vector
        shape, dtype = (20, 20), np.dtype(np.float32)

        def __matmul__(self, v):
            assert v.dtype == np.float32
            return T @ v
    c = eh.compare(C, Operator())
    assert c.source == "Operator, 20 products" and c.max_abs_error == ref.max_abs_error
    with pytest.raises(InvalidValueError, match=r"n = 19 is not the size of the exact matrix, 20 x 20"):
        eh.compare(C, apply, n=19)
    with pytest.raises(InvalidValueError, match=r"theirs @ e_0 has shape \(3,\); expected \(20,\)"):
        eh.compare(C, lambda v: v[:3])


def test_a_scipy_linear_operator(C):
    sla = pytest.importorskip("scipy.sparse.linalg")
    T = C.to_numpy()
    op = sla.LinearOperator((20, 20), matvec=lambda v: T @ v, dtype=np.float64)
    c = eh.compare(C, op)
    assert c.source.endswith("20 products") and c.agrees and c.max_abs_error == eh.compare(C, T).max_abs_error
    assert eh.compare(C, sla.aslinearoperator(T.astype(np.float32))).dtype == "float32"


def test_torch_tensors_and_a_torch_operator(C):
    torch = pytest.importorskip("torch")
    T = C.to_numpy()
    for dtype, name in ((torch.float32, "float32"), (torch.bfloat16, "bfloat16"), (torch.float16, "float16")):
        t = torch.tensor(T, dtype=dtype, requires_grad=True)
        c = eh.compare(C, t)
        assert c.dtype == name and c.source == f"{name} tensor" and c.ok
        assert c.max_abs_error == float(_max_error(t.detach().float().numpy(), C.hessian))

    class TorchOperator:  # as curvlinops' CurvatureLinearOperator: torch dtype and device, @ on a torch vector
        shape, dtype, device = (20, 20), torch.float64, torch.device("cpu")

        def __matmul__(self, v):
            assert isinstance(v, torch.Tensor) and v.dtype == torch.float64
            return torch.tensor(T) @ v
    c = eh.compare(C, TorchOperator())
    assert c.dtype == "float64" and c.agrees
    c = eh.compare(C, lambda v: torch.tensor(T, dtype=torch.float32) @ v, dtype=torch.float32)
    assert c.dtype == "float32" and c.source == "callable, 20 products"


@pytest.mark.parametrize("theirs, error, words", [
    (np.ones((19, 19)), InvalidValueError, r"theirs has shape \(19, 19\); the exact matrix has shape \(20, 20\)"),
    (np.ones((20, 20), dtype=complex), InvalidTypeError, "theirs has complex dtype complex128"),
    (np.ones((20, 20), dtype=int), InvalidTypeError, "theirs has dtype int64; expected floats"),
    ([[1.0] * 20] * 20, InvalidTypeError, "theirs = .* has type list; expected a numpy array or torch tensor"),
    ("H.npy", InvalidTypeError, "theirs = 'H.npy' has type str"),
])
def test_bad_theirs_is_refused_naming_it(C, theirs, error, words):
    with pytest.raises(error, match=words):
        eh.compare(C, theirs)


def test_non_finite_entries_are_counted(C):
    T = C.to_numpy()
    T[1, 2], T[4, 4] = np.nan, np.inf
    with pytest.raises(NonFiniteError, match=r"theirs has 2 non-finite entries \(NaN or inf\) of 400, the first "
                                             r"theirs\[1, 2\] = nan"):
        eh.compare(C, T)
    assert issubclass(NonFiniteError, InvalidValueError)


@pytest.mark.parametrize("exact, kwargs, error, words", [
    ("H", {}, InvalidTypeError, "exact = 'H' has type str"),
    ([[1, 2], [3, 4]], {}, InvalidMatrixError, r"exact is not symmetric \(exact\[0, 1\] = 2"),
    ([[1, 2, 3]], {}, InvalidMatrixError, r"exact has shape \(1, 3\); expected a square matrix"),
    ([[1]], {"of": "fisher"}, InvalidOptionError, "of = 'fisher' is not a known option"),
])
def test_bad_exact_and_options_are_refused(exact, kwargs, error, words):
    with pytest.raises(error, match=words):
        eh.compare(exact, np.ones((1, 1)), **kwargs)


def test_a_hessian_result_over_floats_is_refused():
    res = eh.hessian(eh.FCN(2, (), 1), n_samples=2, domain="float64")
    with pytest.raises(InvalidValueError, match=r"HessianResult over \w+; expected one over QQ"):
        eh.compare(res, np.ones((2, 2)))


def test_zero_matrices_and_a_skipped_inertia():
    c = eh.compare(np.zeros((2, 2), dtype=int), np.zeros((2, 2)))
    assert c.ok and c.max_rel_error == 0.0 and c.exact_inertia == (0, 0, 2) and c.exact_rank == 0
    c = eh.compare(np.zeros((2, 2), dtype=int), np.full((2, 2), 1e-300))
    assert not c.ok and c.max_rel_error is None and c.eps_units is None and "exact matrix is 0" in c.notes[0]
    c = eh.compare([[2, 1], [1, 2]], np.array([[2.0, 1.0], [1.0, 2.0]]), inertia_limit=1)
    assert c.exact_inertia is None and c.inertia_agrees is None and c.agrees and "inertia skipped" in c.notes[0]


def test_the_report_is_frozen_by_keyword_printable_and_json(C):
    c = eh.compare(C, C.to_numpy().astype(np.float32))
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.ok = False
    with pytest.raises(TypeError):
        type(c)(*dataclasses.astuple(c))
    text = str(c)
    assert "max |error|" in text and "rank" in text and "inertia (+, -, 0)" in text and "float32" in text
    assert max(len(line) for line in text.splitlines()) <= 80 and text == c.render()
    d = json.loads(json.dumps(c.to_dict()))
    assert d["ok"] is True and d["agrees"] is True and d["shape"] == [20, 20] and d["dtype"] == "float32"
