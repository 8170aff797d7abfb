"""The architecture options shared by ``verify fcn|cnn`` and ``prove generic fcn|cnn``."""

import argparse

import pytest

import exacthess as eh
from exacthess.cli import prove_generic
from exacthess.cli.architecture_args import arch_from_args, parse_ints
from exacthess.cli.main import build_parser
from exacthess.core.errors import InvalidArchitectureError


@pytest.mark.parametrize("options, arch", [
    ("fcn --input-dim 4 --widths 3,2 --output-dim 2 --bias", eh.FCN(4, (3, 2), 2, bias=True)),
    ("fcn --input-dim 4 --output-dim 2", eh.FCN(4, (), 2)),
    ("cnn --input-shape 6x5 --channels 2,3 --kernel-sizes 3x2,2 --output-dim 3 --in-channels 2 --strides 1,2 "
     "--paddings 1,0", eh.CNN((6, 5), (2, 3), [(3, 2), 2], 3, in_channels=2, strides=[1, 2], paddings=[1, 0])),
])
def test_verify_and_prove_generic_read_the_same_network(options, arch):
    """Both commands build the same architecture from the same options."""
    parser = build_parser()
    verify = parser.parse_args(["verify", *options.split()])
    prove = parser.parse_args(["prove", "generic", *options.split()])
    assert arch_from_args(verify, verify.family) == arch
    assert prove.target == "generic"
    assert prove_generic.arch_from_args(_generic_parser().parse_args(options.split())) == arch


def _generic_parser():
    """The parser ``exacthess prove generic`` hands its remaining arguments to."""
    p = argparse.ArgumentParser()
    prove_generic.configure(p)
    return p


@pytest.mark.parametrize("text, name", [("5,a", "--widths"), ("3y2", "--kernel-sizes")])
def test_bad_lists_name_the_option(text, name):
    with pytest.raises(InvalidArchitectureError, match=f"{name} = '{text}' is not valid"):
        parse_ints(text, name)
