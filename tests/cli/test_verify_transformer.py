"""``exacthess verify transformer``: a Transformer block from options, per-token cross-entropy with seeded
targets, and one-line refusals (exit 2)."""

from __future__ import annotations

import json

from exacthess.cli.main import main


def test_verify_transformer_certifies_and_refuses(capsys):
    assert main(["verify", "transformer", "--width", "2", "--tokens", "2", "--heads", "2", "--causal", "--ffn",
                 "relu", "--ffn-width", "2", "--output-dim", "2", "--samples", "2", "--loss", "cross_entropy(2)",
                 "--scale", "1/2", "--no-float", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert all(info["certified"] for info in report["rank_info"].values())
    assert main(["verify", "transformer", "--width", "3", "--tokens", "2", "--heads", "2"]) == 2
    assert "heads = 2 does not divide the width d = 3" in capsys.readouterr().err
    assert main(["verify", "transformer", "--width", "2", "--tokens", "2", "--attention", "cubic"]) == 2
    assert "attention = 'cubic'" in capsys.readouterr().err


def test_perfect_fit_reproduce_line_and_refusals(capsys):
    """At a perfect fit (a critical point) the symmetry bound p - d_sym decides H_f and H_L too; the report's
    command is the `verify transformer` line, which gives the same ranks; bad combinations exit 2."""
    args = ["verify", "transformer", "--width", "2", "--tokens", "3", "--attention", "linear", "--bias", "--scale",
            "1/2", "--samples", "12", "--perfect-fit", "--no-float", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    verdicts = {r["statement"]: r["verdict"] for r in report["rows"]}
    assert verdicts["attention.qk.H_L"] == verdicts["attention.qk.H_f"] == "holds"
    assert report["command"].startswith("exacthess verify transformer --bias --width 2 --tokens 3 --attention linear")
    assert main(report["command"].split()[1:] + ["--no-float", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ranks"] == report["ranks"]
    for bad, words in ((["--ffn-width", "3"], "--ffn-width 3 without a feed-forward block; expected --ffn ACT"),
                       (["--tokens", "0"], "--tokens = 0"), (["--d-k", "0"], "--d-k = 0"),
                       (["--output-dim", "1", "--loss", "cross_entropy(3)"], "at least 2 logits per token"),
                       (["--output-dim", "2", "--loss", "cross_entropy(2)"], "expected --loss 'cross_entropy(3)'"),
                       (["--heads", "2", "--d-k", "1", "--d-v", "2", "--residual", "--no-out-proj"], "--d-v")):
        assert main(["verify", "transformer", "--width", "2", "--tokens", "3", *bad]) == 2, bad
        assert words in capsys.readouterr().err
