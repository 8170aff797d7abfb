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
    assert code == 2 and err.strip().count("\n") == 0 and "input_dim = 0" in err
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
