"""The source documents' claims (``exacthess.claims``) on fixed cases, against independent routes.

* sympy (``tests/general_reference.py``): the loss written out explicitly and differentiated
  symbolically at the perfect-fit point (softmax / sigmoid values replaced by the same rational
  stand-ins after differentiation); ``Matrix.rank`` of the symbolic ``H_L`` and of the symbolic
  Jacobian of the outputs, compared with the certified ranks the claims report;
* the least-squares minimum: sympy's gradient of the written-out loss vanishes at the point,
  sympy finds its Hessian positive semi-definite, and its second term is nonzero;
* ``is_psd`` against sympy's ``is_positive_semidefinite``.
"""

import json
import shlex

import general_reference as ref
import numpy as np
import pytest
import sympy
from flint import fmpq

import exacthess as eh
from exacthess import claims
from exacthess.cli.main import main
from exacthess.core.errors import (InvalidArchitectureError, InvalidDataError, InvalidValueError, NonDifferentiableError,
                                   UnknownStatementError)
from exacthess.experiments.claims.minimum import is_psd, least_squares_minimum
from exacthess.verification.points import is_perfect_fit, perfect_fit
from exacthess.hessian.problem import make_problem, seeded_data, seeded_params

ACT = {"linear": ("linear",), "relu": ("leaky", 0), "leaky_relu(1/4)": ("leaky", "1/4"),
       "poly(0, 1, 0, -1/3)": ("poly", (0, 1, 0, "-1/3"))}


def _sympy_ranks(arch, loss_spec, loss_name, n, seed):
    """(rank H_L, rank J_f) by sympy at the perfect fit that exacthess builds from the seeded point."""
    prob = perfect_fit(make_problem(arch, n_samples=n, seed=seed, loss=loss_name))
    params = seeded_params(arch, seed)
    X, _ = seeded_data(arch, n, seed)
    Y = prob.Y
    standins = None
    if loss_spec in ("ce", "bce"):
        standins = lambda i, f: list(Y[i])  # noqa: E731 - the perfect-fit targets ARE the stand-ins
    H_L, H_o, H_f, _ = ref.hessians(arch, ACT[arch.activation.name], loss_spec, params, X, Y, standins)
    return H_L, H_f, H_o  # under MSE H_o = J^T J, so rank J_f = rank H_o


FIT_CASES = [(eh.FCN(2, (2,), 2), 3), (eh.FCN(2, (2,), 2, bias=True, activation="relu"), 3),
             (eh.CNN((3,), (1,), 2, 2, activation="poly(0, 1, 0, -1/3)"), 3)]


@pytest.mark.parametrize("arch, n", FIT_CASES, ids=[repr(a) for a, _ in FIT_CASES])
def test_perfect_fit_mse_bce_weighted_against_sympy(arch, n):
    """rank H_L = rank J_f at the perfect fit (MSE: sympy's H_L = H_o = J^T J, so rank J = rank H_o);
    sympy's second term vanishes; BCE and weighted MSE have the same ranks as MSE (positive diagonals)."""
    H_L, H_f, H_o = _sympy_ranks(arch, "mse", "mse", n, 0)
    assert H_f == sympy.zeros(*H_f.shape)
    rank_J = H_o.rank()  # H_o = J^T J exactly
    for fn, spec, name in ((claims.perfect_fit_mse, "mse", "mse"), (claims.perfect_fit_bce, "bce", "bce"),
                           (claims.perfect_fit_weighted_mse, ("wmse", (1, "1/2")), "weighted_mse(1, 1/2)")):
        res = fn([arch], n_samples=n)
        case = res.cases[0]
        assert (res.verdict, res.expected, res.certified) == ("holds", "holds", True)
        assert case.numbers["rank J_f"] == rank_J == case.numbers["rank H_L"]
        if spec != "mse":
            H_L2, H_f2, _ = _sympy_ranks(arch, spec, name, n, 0)
            assert H_f2 == sympy.zeros(*H_f2.shape) and H_L2.rank() == rank_J


def test_cross_entropy_logits_fails_and_probabilities_hold_against_sympy():
    """Softmax cross-entropy at a perfect fit: sympy's H_L (log-sum-exp written out, stand-ins swapped in)
    has rank 3 < rank J_f = 6 (FCN 3-3-2, 8 samples); with the probabilities as outputs the rank
    equals rank J_p = 3, and H_L = J_p^T diag(1/p) J_p exactly."""
    arch = eh.FCN(3, (3,), 2)
    logits = claims.perfect_fit_cross_entropy_logits([arch], n_samples=8)
    probs = claims.perfect_fit_cross_entropy_probabilities([arch], n_samples=8)
    c = logits.cases[0]
    assert (logits.verdict, logits.expected, logits.certified) == ("holds", "holds", True)  # rank H_L <= rank J_f - 1
    assert logits.statement_id == "thread.perfect_fit.cross_entropy_logits"
    assert (c.numbers["rank H_L"], c.numbers["rank J_f"], c.numbers["rank J_p (probabilities)"]) == (3, 6, 3)
    p = probs.cases[0]
    assert (probs.verdict, probs.expected) == ("holds", "holds")
    assert p.numbers["H_L = J_p^T diag(1/p) J_p exactly"] is True
    H_L, H_f, _ = _sympy_ranks(arch, "ce", "cross_entropy", 8, 0)
    assert H_f == sympy.zeros(*H_f.shape) and H_L.rank() == 3
    H_L_mse, _, H_o = _sympy_ranks(arch, "mse", "mse", 8, 0)
    assert H_o.rank() == 6  # rank J_f, by sympy (H_o = J^T J under MSE)


def test_every_default_case_and_its_verdicts():
    """The default architectures (FCN and CNN, biases, linear / ReLU / leaky ReLU / cubic): exact ranks."""
    res = claims.discussion()
    got = {r.id: (r.verdict, r.expected, r.certified) for r in res}
    assert got == {"perfect_fit.mse": ("holds", "holds", True), "perfect_fit.weighted_mse": ("holds", "holds", True),
                   "perfect_fit.bce": ("holds", "holds", True),
                   "perfect_fit.cross_entropy_logits": ("holds", "holds", True),
                   "perfect_fit.cross_entropy_probabilities": ("holds", "holds", True),
                   "minimum_with_nonzero_gradient": ("holds", "holds", True)}
    mse = res[0]
    assert [(c.numbers["rank H_L"], c.numbers["rank J_f"]) for c in mse.cases] == \
        [(6, 6), (8, 8), (17, 17), (12, 12), (11, 11), (12, 12), (16, 16), (16, 16)]
    ce = res[3]
    assert [c.numbers["rank H_L"] for c in ce.cases] == [3, 4, 14, 6, 6, 6, 8, 8]
    assert all(c.numbers["rank H_L"] < c.numbers["rank J_f"] for c in ce.cases)
    assert {c.spec["family"] for c in mse.cases} == {"fcn", "cnn"}
    assert all(c.numbers["perfect fit (grad_f l = 0 exactly)"] and c.numbers["H_f = 0 exactly"]
               for r in res[:5] for c in r.cases)


def test_least_squares_minimum_against_sympy():
    """Bottlenecked FCN 3-1-2 with biases: sympy's gradient of the written-out loss is 0 at the point,
    the residual is not, sympy's Hessian is positive semi-definite and a nonzero second term (rank 2)."""
    arch = eh.FCN(3, (1,), 2, bias=True)
    params, (X, Y), meta = least_squares_minimum(arch)
    assert meta["bottleneck"]
    H_L, H_o, H_f, outs = ref.hessians(arch, ("linear",), "mse", params, X, Y)
    assert H_L.is_positive_semidefinite
    assert H_f.rank() == 2
    res = claims.minimum_with_nonzero_gradient([arch])
    c = res.cases[0]
    assert (res.verdict, res.certified) == ("holds", True)
    assert c.numbers["rank H_f"] == 2 and c.numbers["rank H_L"] == H_L.rank()
    assert c.numbers["|grad_f l|^2"] == sum((ref.rat(o) - ref.rat(y)) ** 2 for os, ys in zip(outs, Y)
                                            for o, y in zip(os, ys)) == 300
    # the gradient in parameter space vanishes: sympy differentiates the written-out loss
    t = sympy.symbols(f"t0:{arch.n_params}")
    flat = [v for p in params for v in np.asarray(p, dtype=object).flat]
    shaped, k = [], 0
    for s in arch.param_shapes():
        size = int(np.prod(s))
        shaped.append(np.array(t[k:k + size], dtype=object).reshape(s))
        k += size
    loss = sum(ref.loss_expr("mse", ref.forward(arch, shaped, [ref.rat(v) for v in x], lambda z: z), y)
               for x, y in zip(X, Y))
    point = {ti: ref.rat(v) for ti, v in zip(t, flat)}
    assert all(sympy.diff(loss, ti).subs(point) == 0 for ti in t)


def test_minimum_without_bottleneck_has_zero_second_term():
    """Full widths: the least-squares minimum has Omega = 0 (normal equations), so H_f = 0 exactly
    although grad_f l != 0: sympy's H_f of the written-out loss is zero too."""
    arch = eh.FCN(3, (3,), 2)
    params, (X, Y), meta = least_squares_minimum(arch)
    _, _, H_f, _ = ref.hessians(arch, ("linear",), "mse", params, X, Y)
    assert not meta["bottleneck"] and H_f == sympy.zeros(*H_f.shape)
    c = claims.minimum_case(arch)
    assert c.numbers["H_f = 0 exactly"] and c.numbers["|grad_f l|^2"] > 0 and c.numbers["grad_theta l = 0 exactly"]


def test_is_psd_against_sympy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        B = rng.integers(-2, 3, size=(4, 3))
        M = B @ B.T - (rng.integers(0, 2) * np.eye(4, dtype=int))
        H = np.vectorize(fmpq, otypes=[object])(M.astype(object))
        assert is_psd(H) == sympy.Matrix(M.tolist()).is_positive_semidefinite


def test_approx_chain_rule_claims():
    """ReLU-type: activation part and within-layer blocks exactly 0 (sympy's within-layer blocks vanish
    too: tests/experiments/test_gn_gap.py), the whole Hessian reading fails; near-linear: the activations'
    share vanishes like s^4, the curvature/GN ratio grows like s^-(2L+2)."""
    res = {r.id: r for r in claims.approx_chain_rule()}
    assert {k: (r.verdict, r.expected) for k, r in res.items()} == {
        "approx_chain_rule.relu.activation_part": ("holds", "holds"),
        "approx_chain_rule.relu.within_layer": ("holds", "holds"),
        "approx_chain_rule.relu.whole_hessian": ("VIOLATED", "holds"),
        "approx_chain_rule.near_linear.activation_part": ("holds", "holds"),
        "approx_chain_rule.near_linear.whole_hessian": ("VIOLATED", "holds")}
    whole = res["approx_chain_rule.relu.whole_hessian"]
    assert all(c.numbers["activation_fro2"] == 0 and c.numbers["within_layer_fro2"] == 0
               and c.numbers["cross_layer_fro2"] > 0 and c.numbers["C doubles when every residual doubles (exact)"]
               for c in whole.cases)
    # proven exponents equal the hand derivation of exacthess/experiments/gn_scaling.py (no biases)
    for cid, want in (("approx_chain_rule.near_linear.whole_hessian", [-4, -6, -4]),
                      ("approx_chain_rule.near_linear.activation_part", [4, 4, 4])):
        cases = res[cid].cases
        assert [c.numbers["proven exponent"] for c in cases] == want
        assert [c.numbers["heuristic exponent (no biases)"] for c in cases] == want
        assert res[cid].certified and all(c.certified for c in cases)


def test_bad_input_and_built_perfect_fits():
    """A perfect fit is built from given data (their targets are replaced), never assumed; claims where they do
    not apply say why."""
    arch = eh.FCN(2, (2,), 2)
    data = ([[1, 2], [3, -1], [0, 1]], [[5, 5], [5, 5], [5, 5]])
    case = claims.perfect_fit_case(arch, params=[[[1, 2], [3, 4]], [[1, -1], [2, 1]]], data=data)
    assert case.numbers["perfect fit (grad_f l = 0 exactly)"] and case.verdict == "holds"
    assert not is_perfect_fit(make_problem(arch, params=[[[1, 2], [3, 4]], [[1, -1], [2, 1]]], data=data))
    with pytest.raises(InvalidDataError, match="cross_entropy' needs output_dim >= 2.*constantly 1"):
        claims.perfect_fit_cross_entropy_logits([eh.FCN(2, (2,), 1)])
    with pytest.raises(InvalidArchitectureError, match="not a deep linear FCN"):
        claims.minimum_with_nonzero_gradient([eh.CNN((4,), (1,), 2, 2)])
    with pytest.raises(InvalidArchitectureError, match="input_dim = 1 is too small"):
        claims.minimum_case(eh.FCN(1, (1,), 1))
    with pytest.raises(UnknownStatementError, match="perfect_fit.mse"):
        claims.claim("perfect_fit.nope")
    cubic = [eh.FCN(3, (3,), 2, activation="poly(0, 1, 0, -1/3)")]
    for fn in (claims.relu_activation_part, claims.relu_within_layer, claims.relu_whole_hessian):
        with pytest.raises(InvalidValueError, match="speak about ReLU-type activations"):
            fn(cubic)
    with pytest.raises(InvalidValueError, match="target = 'J_p' with loss = 'mse'.*cross_entropy"):
        claims.perfect_fit_case(eh.FCN(2, (2,), 2), "mse", target="J_p")
    with pytest.raises(NonDifferentiableError, match="the given params and data put a pre-activation at a kink"):
        claims.perfect_fit_case(eh.FCN(1, (1,), 1, bias=True, activation="relu"), params=[[[1]], [-1], [[1]], [0]],
                                data=([[1]], [[1]]))
    summary = claims.minimum_with_nonzero_gradient([eh.FCN(2, (3,), 2)]).summary
    assert "H_f = 0 on every one" in summary and "rank H_f )" not in summary


def test_cli(tmp_path, capsys):
    assert main(["reproduce", "discussion", "--json", "--claim", "perfect_fit.cross_entropy_logits"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(o["id"], o["verdict"], o["certified"]) for o in out] == [("perfect_fit.cross_entropy_logits", "holds", True)]
    assert main(["reproduce", "approx-chain-rule", "--claim", "approx_chain_rule.relu.whole_hessian"]) == 1
    text = " ".join(capsys.readouterr().out.split())  # folded to 80 columns when piped
    assert "contradicted: approx_chain_rule.relu.whole_hessian (VIOLATED; the document claims holds)" in text
    assert main(["reproduce", "approx-chain-rule", "--claim", "approx_chain_rule.near_linear.activation_part",
                 "--out", str(tmp_path), "--format", "png,pdf"]) == 0
    assert (tmp_path / "approx_chain_rule_scaling_1.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "approx_chain_rule_scaling_1.pdf").read_bytes()[:4] == b"%PDF"
    (tmp_path / "approx_chain_rule_scaling_1.png").unlink()
    assert main(["reproduce", "approx-chain-rule", "--claim", "approx_chain_rule.near_linear.whole_hessian",
                 "--out", str(tmp_path)]) == 1
    assert (tmp_path / "approx_chain_rule_scaling_1.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["reproduce", "discussion", "--claim", "nope"]) == 2
    assert "error: --claim 'nope' is not known" in capsys.readouterr().err
    cmd = claims.perfect_fit_bce([eh.FCN(2, (2,), 2, activation="relu")], n_samples=3).cases[0].command
    assert "--perfect-fit" in cmd and main(shlex.split(cmd)[1:] + ["--json", "--no-float"]) == 0
    rows = {r["statement"]: r["verdict"] for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["thread.perfect_fit.H_L"] == "holds" and rows["thread.perfect_fit.H_f"] == "holds"


def test_search_draws_perfect_fits(tmp_path):
    """The perfect-fit statements are searched at perfect fits (every drawn case applies) and hold; the
    ReLU within-layer statement is searched over ReLU-type networks and holds."""
    res = eh.search("thread.perfect_fit.H_L", max_examples=6, database=str(tmp_path))
    assert res.counterexample is None and res.n_applicable == res.examples
    res = eh.search("skorski2021.relu.within_layer", max_examples=6, database=str(tmp_path))
    assert res.counterexample is None and res.n_applicable == res.examples


def test_claims_report_through_the_registered_statements_and_judge():
    """A perfect-fit case's verdict is judge()'s on the registered statement with the case's certified
    ranks, and a claim combines its cases in the same words (a false case of a published claim:
    VIOLATED)."""
    from dataclasses import replace
    from types import SimpleNamespace as NS

    from exacthess.experiments.claims.result import combine
    from exacthess.statements import get_statement
    from exacthess.statements.verdicts import Verdict, judge
    case = claims.perfect_fit_case(eh.FCN(2, (2,), 2), "mse", n_samples=3)
    stmt = get_statement("thread.perfect_fit.H_L")
    h, j = case.numbers["rank H_L"], case.numbers["rank J_f"]
    assert case.verdict == judge(stmt, "H_L", NS(lower=h, upper=h), j).verdict == "holds"
    false = judge(stmt, "H_L", NS(lower=h + 1, upper=h + 1), j).verdict
    assert combine([case, replace(case, verdict=false)]) == (Verdict.VIOLATED, True)
    assert claims.perfect_fit_mse([eh.FCN(2, (2,), 2)], n_samples=3).statement_id == stmt.id
