"""Proven generic ranks against the registered formulas (Singh, Bachmann & Hofmann 2021).

Route: the formulas of exacthess/statements/singh2021.py evaluated by hand here with
r = min(n, d), q = min(r, K, m_1..m_L), s = min(r, K) (FORMULAS.md s.1), compared with
generic ranks proven by exacthess (lower bound mod p, upper bound by null vectors). Equality is a
proof of the statement for that architecture; the L = 0 case refutes the H_f formula outside
its stated condition.
"""

import itertools

import pytest

from exacthess import FCN
from exacthess.generic import prove_generic

GRID = [(d, ws, K, n) for d, ws, K, n in itertools.product(
    (2, 3, 5), ((1,), (3,), (2, 4), (4, 1, 2)), (1, 2, 4), (1, 3, 8))]


def _formulas(d, ws, K, n):
    r = min(n, d)
    q = min((r, K) + ws)
    s = min(r, K)
    L = len(ws)
    return {"H_o": q * (r + K - q),
            "H_f": 2 * q * sum(ws) + 2 * q * s - (L + 1) * q * q,
            "H_L": 2 * q * sum(ws) - (L + 1) * q * q + q * (r + K)}


@pytest.mark.parametrize("d,ws,K,n", GRID)
def test_singh2021_formulas_are_proven_for_the_grid(d, ws, K, n):
    proof = prove_generic(FCN(d, ws, K), n)
    want = _formulas(d, ws, K, n)
    assert proof.proven, {q: (r.lower, r.upper) for q, r in proof.ranks.items()}
    assert {q: proof.ranks[q].value for q in want} == want
    status = {c.statement: c.verdict for c in proof.checks}
    for sid in ("singh2021.H_o", "singh2021.H_f", "singh2021.H_L", "singh2021.H_f.bound", "subadditivity"):
        assert status[sid] == "holds", sid
    assert proof.exit_code == 0


def test_block_columns_match_the_recorded_observation():
    """FORMULAS.md s.1: block column l has rank q (m'_{l-1} + m'_l) - q^2, m'_0 = m'_{L+1} = s."""
    d, ws, K, n = 5, (3, 4), 3, 10
    proof = prove_generic(FCN(d, ws, K), n)
    q, s = 3, 3
    m = (s,) + ws + (s,)
    for l in (1, 2, 3):
        assert proof.ranks[f"H_f[:,{l}]"].value == q * (m[l - 1] + m[l]) - q * q
    assert {c.statement: c.verdict for c in proof.checks}["conjecture.block_column[2]"] == "holds"


def test_no_hidden_layer_refutes_the_functional_formula():
    """L = 0: H_f = 0 identically, the formula 2qs - q^2 = q^2 > 0; the statement's condition
    (L >= 1) excludes the case, and the proven rank shows why."""
    proof = prove_generic(FCN(4, (), 3), 8)
    assert proof.ranks["H_f"].value == 0
    row = next(c for c in proof.checks if c.statement == "singh2021.H_f")
    assert row.verdict == "n/a" and row.outside == "refuted" and row.predicted == (9, 9)
    assert "refuted" in row.note
    assert proof.exit_code == 0  # outside the condition: not a refutation of the statement


def test_bias_conjectures_are_decided():
    proof = prove_generic(FCN(4, (3,), 2, bias=True), 8)
    status = {c.statement: c.verdict for c in proof.checks}
    assert proof.proven
    assert status["conjecture.bias.H_o"] == "holds"  # q (r + K - q) + K = 10
    assert proof.ranks["H_o"].value == 10


def test_strided_cnn_refutes_the_claimed_equality():
    """Stride 2, kernel 3 on 8 inputs never reads input 7, so rank H_o = q (7 + K - q) = 14 < 16:
    the claimed equality of Theorem 1 fails generically (exit code 1)."""
    from exacthess import CNN
    proof = prove_generic(CNN((8,), (2,), 3, 2, strides=2), 16)
    assert proof.ranks["H_o"].value == 14
    row = next(c for c in proof.checks if c.statement == "singh2023.thm1.equality")
    assert row.verdict == "VIOLATED" and row.predicted == (16, 16)
    assert proof.exit_code == 1
