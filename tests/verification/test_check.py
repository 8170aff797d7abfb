"""``exacthess check``: saved reports are verified again from their exact point; edited ranks are
rejected. Independent route for the true ranks: FLINT's exact elimination over Q of the dense matrix."""

import json
import subprocess
import sys

import numpy as np
import pytest
from flint import fmpq, fmpq_mat

import exacthess as eh
from exacthess.cli.main import main

F = fmpq


def qrank(M) -> int:
    M = np.asarray(M, dtype=object)
    return fmpq_mat(M.shape[0], M.shape[1], list(M.flat)).rank() if M.size else 0


NETS = [
    ("linear", eh.CNN((6,), (2, 2), 3, 2, paddings=1)),
    ("relu", eh.CNN((6,), (2,), 3, 2, paddings=1, bias=True, activation="relu")),
    ("poly", eh.CNN((5,), (2,), 2, 2, paddings=1, activation="poly(1/2, 1, 1/4)")),
]


@pytest.mark.parametrize("name, arch", NETS)
def test_untouched_reports_verify_and_edited_ranks_fail(name, arch):
    report = eh.verify(arch, n_samples=4, seed=2, float_check=False)
    data = json.loads(report.to_json())
    assert eh.check(data).ok
    for key in data["rank_info"]:
        for delta in (-1, 1):
            edited = json.loads(json.dumps(data))
            info = edited["rank_info"][key]
            if info["value"] + delta < 0:
                continue
            info["value"] += delta
            if info["certified"]:
                info["lower"] = info["upper"] = info["value"]
            res = eh.check(edited)
            assert not res.ok, (name, key, delta)
            assert [c.key for c in res.checks if not c.verified] == [key]


def test_check_command_line(tmp_path, capsys):
    path = tmp_path / "report.json"
    assert main(["verify", "cnn", "--input-shape", "6", "--channels", "2", "--kernel-sizes", "3", "--output-dim", "2",
                 "--paddings", "1", "--activation", "relu", "--samples", "4", "--no-float", "--json"]) in (0, 3)
    path.write_text(capsys.readouterr().out)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "verified" in out and "FAILED" not in out
    assert all(len(line) <= 80 for line in out.splitlines())
    data = json.loads(path.read_text())
    data["rank_info"]["H_L"]["value"] += 1
    data["rank_info"]["H_L"]["lower"] = data["rank_info"]["H_L"]["upper"] = data["rank_info"]["H_L"]["value"]
    path.write_text(json.dumps(data))
    assert main(["check", str(path)]) == 1
    assert "FAILED" in capsys.readouterr().out
    path.write_bytes(b"\x00\x01 not json")
    assert main(["check", str(path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert main(["check", str(tmp_path / "missing.json")]) == 2


def test_check_refuses_reports_without_a_point():
    loss = eh.Loss.custom(lambda f, y: [a - b for a, b in zip(f, y)], lambda f, y: [[1, 0], [0, 1]])
    report = eh.verify(eh.FCN(3, (2,), 2), n_samples=4, loss=loss, float_check=False)
    with pytest.raises(eh.errors.InvalidDataError, match="custom loss"):
        eh.check(report)


def test_a_wrong_psd_factor_is_a_proposal_not_a_certificate():
    """The issue's custom loss: psd_factor [[0, 0]] claims ker C = R^2, but the Hessian is I: rank H_o is 6,
    not 0, and subadditivity is not violated."""
    loss = eh.Loss.custom(lambda f, y: [a - b for a, b in zip(f, y)], lambda f, y: [[1, 0], [0, 1]],
                          psd_factor=lambda f, y: [[0, 0]])
    arch = eh.FCN(3, (2,), 2)
    report = eh.verify(arch, n_samples=4, loss=loss, float_check=False)
    H = eh.hessian(arch, n_samples=4, loss=loss)
    assert report.rank_info["H_o"].certified and report.ranks["H_o"] == qrank(H.H_o) == 6
    assert "ker C" in " ".join(report.rank_info["H_o"].failures)
    assert report.exit_code != 1


def test_sigma0_reproducer():
    """The issue's reproducer: a padded unit reads only padding, its value is sigma(0) = 1, not 0."""
    arch = eh.CNN((1,), (1,), 1, 1, paddings=1, activation="poly(1, 1)")
    P = [np.full(s, F(1, 2), dtype=object) for s in arch.param_shapes()]
    data = ([[1], [2]], [[F(1, 4)], [-1]])
    report = eh.verify(arch, params=P, data=data, float_check=False)
    H = eh.hessian(arch, params=P, data=data)
    for key in ("H_o", "H_f", "H_L"):
        assert report.rank_info[key].value == qrank(getattr(H, key)), key
    assert report.ranks["H_L"] == 3


def test_certify_never_means_lower_bounds_only():
    report = eh.verify(eh.FCN(4, (3,), 3), n_samples=2, certify="never", float_check=False)
    for key, info in report.rank_info.items():
        assert info.certified == (info.lower == min(info.shape)), key
    assert report.exit_code in (0, 3)
    assert any(not info.certified for info in report.rank_info.values())
    assert report.undecided


def test_check_runs_as_a_module(tmp_path):
    report = eh.verify(eh.FCN(3, (2,), 2), n_samples=3, float_check=False)
    path = tmp_path / "r.json"
    path.write_text(report.to_json())
    out = subprocess.run([sys.executable, "-m", "exacthess", "check", str(path), "--json"], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0 and json.loads(out.stdout)["ok"]


def test_a_shown_rank_edited_in_the_report_fails_the_check():
    """``ranks`` (what a reader sees) must be the rank the certificate proves, not only ``rank_info``."""
    import exacthess as eh
    data = eh.verify(eh.FCN(4, (3,), 2), n_samples=5, float_check=False).to_dict()
    assert eh.check(data).ok
    for delta in (1, -1):
        edited = {**data, "ranks": {**data["ranks"], "H_L": data["ranks"]["H_L"] + delta}}
        result = eh.check(edited)
        assert not result.ok and result.exit_code == 1
        bad = [c for c in result.checks if not c.verified]
        assert [c.key for c in bad] == ["H_L"] and "report shows rank" in bad[0].why


def test_an_unreadable_path_is_bad_input_naming_report(tmp_path):
    import pytest

    import exacthess as eh
    for path in (tmp_path / "missing.json", tmp_path):
        with pytest.raises(eh.errors.InvalidValueError, match="report = .* cannot be read"):
            eh.check(path)
