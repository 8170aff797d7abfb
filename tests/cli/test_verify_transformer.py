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
