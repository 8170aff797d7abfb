import json
import subprocess
import sys

from exacthess.cli.main import main


def test_verify_json(capsys):
    code = main(["verify", "fcn", "--input-dim", "5", "--widths", "3,2", "--output-dim", "4",
                 "--samples", "8", "--seed", "1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"] and out["ranks"]["H_o"] > 0


def test_verify_table(capsys):
    assert main(["verify", "fcn", "--input-dim", "3", "--widths", "", "--output-dim", "2"]) == 0
    assert "singh2021.H_o" in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line(capsys):
    code = main(["verify", "fcn", "--input-dim", "0", "--widths", "2", "--output-dim", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().count("\n") == 0 and "--input-dim = 0" in err  # the option the user typed
    assert main(["verify", "fcn", "--input-dim", "3", "--widths", "a,b", "--output-dim", "1"]) == 2


def test_reproduce_notebook_and_help():
    proc = subprocess.run([sys.executable, "-m", "exacthess", "reproduce", "notebook"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "175" in proc.stdout and "150" in proc.stdout and "250" in proc.stdout
    assert "verified end to end in" in proc.stdout
    for args in (["--help"], ["verify", "--help"], ["verify", "fcn", "--help"], ["reproduce", "--help"]):
        h = subprocess.run([sys.executable, "-m", "exacthess", *args], capture_output=True, text=True)
        assert h.returncode == 0 and "usage" in h.stdout


def test_exit_codes_0_1_2_3(capsys):
    """0 decided and holding, 1 violated or refuted, 2 bad input (one line), 3 undecided."""
    assert main(["verify", "fcn", "--input-dim", "4", "--widths", "3", "--output-dim", "2", "--samples", "5",
                 "--seed", "3", "--json"]) == 0
    capsys.readouterr()
    thm1 = ["verify", "cnn", "--input-shape", "1", "--channels", "1", "--kernel-sizes", "1", "--output-dim", "2",
            "--in-channels", "2", "--paddings", "1", "--samples", "2", "--seed", "0"]
    assert main(thm1 + ["--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    row = next(r for r in out["rows"] if r["statement"] == "singh2023.thm1.equality")
    assert row["verdict"] == "VIOLATED" and out["ok"] is False and out["decided"] is True
    assert main(["verify", "fcn", "--input-dim", "4", "--widths", "3", "--output-dim", "2", "--certify", "sometimes"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "invalid choice: 'sometimes'" in err and err.startswith("error:")
    # the example without certification: some verdicts need an upper bound (seeded points:
    # search a few seeds so that the test does not depend on the seeding rule)
    base = ["verify", "cnn", "--input-shape", "6", "--channels", "2,2", "--kernel-sizes", "3", "--output-dim", "3",
            "--paddings", "1", "--bias", "--samples", "4", "--certify", "never", "--no-float", "--json"]
    codes = []
    for seed in range(6):
        codes.append(main(base + ["--seed", str(seed)]))
        out = json.loads(capsys.readouterr().out)
        if codes[-1] == 3:
            assert out["decided"] is False and out["ok"] is True
            assert any(r["verdict"] == "undecided" and r["note"].startswith("needs ") for r in out["rows"])
            break
    assert 3 in codes, codes


def test_help_states_the_exit_codes():
    for args in (["--help"], ["verify", "--help"], ["verify", "cnn", "--help"]):
        h = subprocess.run([sys.executable, "-m", "exacthess", *args], capture_output=True, text=True)
        assert h.returncode == 0
        assert "3  nothing violated or refuted, but some statement undecided" in h.stdout


def test_statements_json_and_table(capsys):
    assert main(["statements", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    by_id = {r["id"]: r for r in records}
    for r in records:
        assert {"id", "kind", "status"} <= set(r)
        assert r["status"] in ("holds on every case tried", "refuted")
        assert ("counterexample" in r) == (r["status"] == "refuted")
    ce = by_id["singh2023.thm1.equality"]
    assert ce["kind"] == "claimed equality" and ce["status"] == "refuted"
    assert ce["counterexample"] == ("exacthess verify cnn --input-shape 1 --channels 1 --kernel-sizes 1 --output-dim 2 "
                                    "--in-channels 2 --paddings 1 --samples 2 --seed 0")
    assert ce["counterexamples"][0]["ranks"]["H_o"] == 3
    assert by_id["singh2021.H_o"]["status"] == "holds on every case tried"
    assert main(["statements"]) == 0
    out = capsys.readouterr().out
    assert "singh2023.eq1.equality" in out and "refuted" in out and "holds on every case tried" in out


def test_float_columns_options(capsys, monkeypatch):
    """--float-always computes the float columns above the default size (and the reproducing command
    says so), --no-float never; the two together are bad input."""
    from exacthess.verification import floats
    monkeypatch.setattr(floats, "FLOAT_COLUMNS_LIMIT", 5)  # the 10-parameter network is "large"
    argv = ["verify", "fcn", "--input-dim", "3", "--widths", "2", "--output-dim", "2", "--samples", "4", "--json"]
    runs = {}
    for extra in ([], ["--float-always"], ["--no-float"]):
        assert main(argv + extra) == 0
        runs[tuple(extra)] = json.loads(capsys.readouterr().out)
    has = {k: any(r["float_ranks"] for r in out["rows"]) for k, out in runs.items()}
    assert has == {(): False, ("--float-always",): True, ("--no-float",): False}
    assert any("--float-always on the command line" in n for n in runs[()]["notes"])
    assert "--float-always" in runs[("--float-always",)]["command"]
    assert main(argv + ["--float-always", "--no-float"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not allowed with" in err
