"""``exacthess prove generic``: parser, tables, JSON and exit codes (0 / 1 / 2 / 3).

The expected ranks are the published FCN formulas (FORMULAS.md s.1): for d = 4, widths (3,),
K = 2 and n = 8, q = 2 and H_o = 8, H_f = 12, H_L = 16."""

import argparse
import json

from exacthess.cli import prove_generic as cli


def _run(argv, capsys):
    parser = argparse.ArgumentParser(prog="exacthess prove generic")
    cli.configure(parser)
    code = cli.run(parser.parse_args(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_fcn_table_and_exit_0(capsys):
    code, out, _ = _run(["fcn", "--input-dim", "4", "--widths", "3", "--output-dim", "2", "--samples", "8"], capsys)
    assert code == 0
    assert "singh2021.H_o" in out and "holds" in out and "PROVEN" in out
    assert "H_f[:,2]" in out


def test_fcn_json(capsys):
    code, out, _ = _run(["fcn", "--input-dim", "4", "--widths", "3", "--output-dim", "2", "--samples", "8",
                         "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["exit_code"] == 0
    assert {k: v["lower"] for k, v in data["ranks"].items() if k in ("H_o", "H_f", "H_L")} == \
        {"H_o": 8, "H_f": 12, "H_L": 16}


def test_bias_flag(capsys):
    code, out, _ = _run(["fcn", "--input-dim", "3", "--widths", "2", "--output-dim", "2", "--bias", "--json"], capsys)
    assert json.loads(out)["spec"]["bias"] is True and code == 0


def test_cnn_refutation_exits_1(capsys):
    code, out, _ = _run(["cnn", "--input-shape", "8", "--channels", "2", "--kernel-sizes", "3",
                         "--output-dim", "2", "--strides", "2", "--samples", "16"], capsys)
    assert code == 1 and "VIOLATED" in out and "singh2023.thm1.equality" in out


def test_cnn_undecided_exits_3(capsys):
    code, out, _ = _run(["cnn", "--input-shape", "6", "--channels", "2,2", "--kernel-sizes", "2",
                         "--output-dim", "2", "--paddings", "1", "--samples", "12"], capsys)
    assert code == 3 and "UNDECIDED" in out


def test_bad_input_exits_2_with_one_line(capsys):
    for argv in (["fcn", "--input-dim", "0", "--widths", "2", "--output-dim", "1"],
                 ["fcn", "--input-dim", "3", "--widths", "a", "--output-dim", "1"],
                 ["fcn", "--input-dim", "3", "--widths", "2", "--output-dim", "1", "--samples", "0"],
                 ["fcn", "--input-dim", "400", "--widths", "40,40", "--output-dim", "40"]):
        code, out, err = _run(argv, capsys)
        assert code == 2 and err.startswith("error: ") and err.strip().count("\n") == 0, (argv, err)


def test_non_linear_activation_is_refused_with_exit_2(capsys):
    code, out, err = _run(["fcn", "--input-dim", "4", "--widths", "3", "--output-dim", "2",
                           "--activation", "relu"], capsys)
    assert code == 2 and err.startswith("error: activation = 'relu'") and "'linear'" in err
    assert len(err.strip().splitlines()) == 1


def test_huge_cnn_is_refused_at_once_with_exit_2(capsys):
    code, _, err = _run(["cnn", "--input-shape", "400x400", "--channels", "64,64", "--kernel-sizes", "3",
                         "--output-dim", "10"], capsys)
    assert code == 2 and "too large for the symbolic route" in err and "verify" in err
