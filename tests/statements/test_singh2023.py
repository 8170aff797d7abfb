"""CNN statements (Singh, Hofmann & Schoelkopf 2023) on random architectures, and the pinned
counterexamples of every refuted statement.

Property test: a statement without a pinned counterexample is never found false (no xfail: a
refutation is a result, kept in the registry with its exact ranks and checked below). The
independent route for the pinned ranks is the symbolic Hessian of an explicit convolution loop
(``tests/symbolic_reference.py``) at the same seeded point, ranked by sympy over Q.
"""

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st
from symbolic_reference import symbolic_hessians  # noqa: E402  (tests/ is on sys.path via conftest)

from exacthess import CNN, verify
from exacthess.cli.main import main
from exacthess.models.commands import verify_command
from exacthess.hessian.problem import seeded_data, seeded_params
from exacthess.models.architectures import from_spec
from exacthess.statements import REGISTRY, load_all, statements_for
from exacthess.strategies import cnn_architectures

CNN_STATEMENTS = sorted(s.id for s in statements_for("cnn"))
load_all()
PINNED = [(sid, i) for sid, s in sorted(REGISTRY.items()) for i in range(len(s.counterexamples))]

archs = st.one_of(cnn_architectures(dims=1, max_input=8), cnn_architectures(dims=2, max_input=6, max_depth=2))


@pytest.mark.parametrize("sid", CNN_STATEMENTS)
@given(arch=archs, n_frac=st.floats(0.2, 2.5), seed=st.integers(0, 10**6))
def test_statement_is_false_only_where_a_counterexample_is_pinned(sid, arch, n_frac, seed):
    n = max(1, round(n_frac * arch.input_dim))
    report = verify(arch, n_samples=n, seed=seed, float_check=False, statements=[sid])
    stmt = REGISTRY[sid]
    for row in report.rows:
        if row.verdict in ("VIOLATED", "refuted"):
            assert stmt.counterexamples, f"{sid} fails: {row}\nreproduce: {report.command}"
            assert row.verdict == ("VIOLATED" if stmt.binding else "refuted")


@pytest.mark.parametrize("sid, i", PINNED)
def test_pinned_counterexample(sid, i):
    """The registry's counterexample gives its exact ranks and verdict, certified; the ranks agree
    with sympy on the symbolic Hessian at the same point; its command reproduces it (exit 1)."""
    ce = REGISTRY[sid].counterexamples[i]
    arch = from_spec(ce.spec)
    assert arch.to_spec() == ce.spec
    report = verify(arch, n_samples=ce.n_samples, seed=ce.seed, float_check=False)
    assert report.certified
    for key, value in ce.ranks.items():
        assert report.ranks[key] == value, key
    rows = [r for r in report.rows if r.statement == sid or r.statement.startswith(sid + "[")]
    assert rows and any(r.verdict == ce.verdict for r in rows)
    assert {str(r.verdict) for r in rows} <= {ce.verdict, "holds"}
    if arch.n_params <= 12:  # independent route: sympy differentiating an explicit loop
        P, (X, Y) = seeded_params(arch, ce.seed), seeded_data(arch, ce.n_samples, ce.seed)
        H_L, H_o, H_f = symbolic_hessians(arch, P, X, Y)
        ref = {"H_L": H_L.rank(), "H_o": H_o.rank(), "H_f": H_f.rank()}
        assert {k: ce.ranks[k] for k in ref} == ref
    assert ce.command == verify_command(ce.spec, samples=ce.n_samples, seed=ce.seed)
    assert main(shlex.split(ce.command)[1:] + ["--no-float", "--json"]) == 1


def test_cnn_report_has_block_columns_and_all_statements():
    arch = CNN((10,), (3, 4), [3, 3], 4, paddings=1)
    r = verify(arch, n_samples=12, seed=1)
    for l in (1, 2, 3):
        assert isinstance(r.ranks[f"H_f[:,{l}]"], int)
    ids = {row.statement.split("[")[0] for row in r.rows}
    assert {"singh2023.thm1", "singh2023.thm1.equality", "singh2023.thm2", "singh2023.eq1.equality"} <= ids
    kinds = {row.statement.split("[")[0]: row.kind for row in r.rows}
    assert kinds["singh2023.thm1"] == "proven upper bound"
    assert kinds["singh2023.thm1.equality"] == "claimed equality"
    assert kinds["singh2023.thm2.ends"] == "derived"
    assert r.certified


def test_thm1_data_counts_the_positions_the_network_reads():
    """Zero padding around a 1x1 kernel: 2 of the 3 hidden positions are always 0, so the data
    reading of Theorem 1 uses width 1: min(p, q (r + K - q)) = 1 * (2 + 2 - 1) = 3 = rank H_o."""
    arch = CNN((1,), (1,), 1, 2, in_channels=2, paddings=1)
    assert arch.hidden_sizes == (3,) and arch.live_hidden_sizes == (1,)
    r = verify(arch, n_samples=2, seed=0, float_check=False)
    row = next(x for x in r.rows if x.statement == "singh2023.thm1.data")
    assert (row.predicted, row.exact, str(row.verdict)) == (3, 3, "holds")


def test_fcn_is_a_cnn_with_full_kernels():
    """One code path: a CNN on a 1x1 map with 1x1 kernels is an FCN, Hessians identical."""
    from exacthess import FCN, hessian
    fcn = FCN(3, (2,), 2)
    cnn = CNN((1,), (2,), 1, 2, in_channels=3)
    P = seeded_params(fcn, 4)
    X, Y = seeded_data(fcn, 5, 4)
    Pc = [P[0].reshape(2, 3, 1), P[1].reshape(2, 2, 1)]
    assert (hessian(fcn, params=P, data=(X, Y)).H_L == hessian(cnn, params=Pc, data=(X, Y)).H_L).all()
