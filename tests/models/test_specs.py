"""``to_spec`` / ``from_spec``: plain dicts that round-trip every architecture (Hypothesis-drawn),
survive JSON, and become the same command line; bad specs get clear errors."""

import json
import shlex

import pytest
from hypothesis import given, strategies as st

import exacthess as eh
from exacthess.core.errors import InvalidArchitectureError, InvalidOptionError, InvalidTypeError
from exacthess.models.commands import verify_command
from exacthess.strategies import cnn_architectures, fcn_architectures

ACTIVATIONS = st.sampled_from(["linear", "relu", "leaky_relu(1/4)", "poly(0, 1, 0, 1/3)"])


@st.composite
def architectures(draw):
    arch = draw(st.one_of(fcn_architectures(bias=None), cnn_architectures(dims=1, bias=None),
                          cnn_architectures(dims=2, max_input=6, max_depth=2, bias=None)))
    spec = arch.to_spec()
    act = draw(ACTIVATIONS)
    if act != "linear":
        spec["activation"] = act
    return eh.from_spec(spec)


@given(arch=architectures())
def test_round_trip(arch):
    spec = arch.to_spec()
    assert eh.from_spec(spec) == arch
    assert eh.from_spec(json.loads(json.dumps(spec))) == arch  # JSON keeps it (tuples become lists)
    assert arch.n_params == eh.from_spec(spec).n_params
    assert verify_command(spec).startswith(f"exacthess verify {spec['family']}")


def test_the_command_line_reads_the_command_back():
    """The command built from a spec, parsed by the command line, gives the same architecture."""
    from exacthess.cli.architecture_args import arch_from_args
    from exacthess.cli.main import build_parser
    for arch in (eh.FCN(4, (3, 2), 2, bias=True, activation="relu"),
                 eh.CNN((6, 6), (2, 3), [(3, 2), 2], 3, in_channels=2, strides=[1, 2], paddings=[1, 0]),
                 eh.CNN((8,), (2,), 3, 1, paddings=1, activation="leaky_relu(1/4)")):
        argv = shlex.split(verify_command(arch.to_spec()))[1:]
        args = build_parser().parse_args(argv)
        assert arch_from_args(args, args.family) == arch, argv


@pytest.mark.parametrize("spec, err, words", [
    ([1, 2], InvalidTypeError, "expected a dict"),
    ({"family": "rnn"}, InvalidOptionError, "'fcn', 'cnn'"),
    ({"family": "fcn", "input_dim": 3, "width": [2], "output_dim": 1}, InvalidArchitectureError, "unknown key"),
    ({"family": "cnn", "input_shape": [8], "channels": [2]}, InvalidArchitectureError, "missing key"),
])
def test_bad_specs(spec, err, words):
    with pytest.raises(err, match=words):
        eh.from_spec(spec)
