import pytest

from exacthess import CNN, FCN
from exacthess.errors import InvalidArchitectureError, InvalidTypeError


def test_fcn_counts_and_shapes():
    net = FCN(25, [5, 10], 10)
    assert net.n_params == 25 * 5 + 5 * 10 + 10 * 10
    assert net.layer_shapes == ((5, 25), (10, 5), (10, 10))
    assert net.param_shapes() == [(5, 25), (10, 5), (10, 10)]
    b = FCN(3, (2,), 4, bias=True)
    assert b.param_shapes() == [(2, 3), (2,), (4, 2), (4,)]
    assert b.n_params == 6 + 2 + 8 + 4
    assert FCN(3, (), 2).n_params == 6


def test_fcn_is_immutable_and_hashable():
    net = FCN(3, (2,), 1)
    with pytest.raises(Exception):
        net.widths = (3,)
    assert hash(net) == hash(FCN(3, (2,), 1))


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_dim=0, widths=(2,), output_dim=1), r"input_dim = 0 is too small; expected an int >= 1"),
    (dict(input_dim=3, widths=(2, -1), output_dim=1), r"widths\[1\] = -1"),
])
def test_fcn_bad_sizes(kwargs, match):
    with pytest.raises(InvalidArchitectureError, match=match):
        FCN(**kwargs)
    assert issubclass(InvalidArchitectureError, ValueError)


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_dim=3.5, widths=(), output_dim=1), r"input_dim = 3.5 has type float; expected an int >= 1"),
    (dict(input_dim=3, widths=(2.0,), output_dim=1), r"widths\[0\] = 2.0 has type float"),
    (dict(input_dim=3, widths="2", output_dim=1), r"widths = '2' has type str; expected a sequence of ints"),
    (dict(input_dim=3, widths=(), output_dim=True), r"output_dim = True has type bool"),
])
def test_fcn_wrong_types(kwargs, match):
    """Wrong types are TypeErrors (the policy of exacthess.core.errors), naming argument and value."""
    with pytest.raises(InvalidTypeError, match=match):
        FCN(**kwargs)
    assert issubclass(InvalidTypeError, TypeError)


def test_cnn_shapes():
    c = CNN((10,), (2, 3), 3, 4, strides=[1, 2], paddings=1)
    assert c.spatial_sizes == (10, 10, 5)
    assert c.param_shapes() == [(2, 1, 3), (3, 2, 3), (4, 3, 5)]
    c2 = CNN((6, 5), (2,), (3, 2), 4, in_channels=3)
    assert c2.layers[0].out_shape == (4, 4)
    assert c2.param_shapes() == [(2, 3, 3, 2), (4, 2, 4, 4)]


def test_cnn_rejects_empty_maps_naming_the_layer():
    with pytest.raises(InvalidArchitectureError, match="layer 2: kernel size 5 is larger than the padded input 3"):
        CNN((5,), (2, 2), [3, 5], 1)
    with pytest.raises(InvalidArchitectureError, match="kernel_sizes"):
        CNN((5,), (2,), 0, 1)
