"""Quantity names parsed in one place: every accepted text round-trips through ``str()``, the
columns are the layer's parameters (checked against the architecture's own layer sizes summed by
hand), and anything else is refused with a message listing the accepted forms."""

import pytest

from exacthess import CNN, FCN
from exacthess.errors import InvalidValueError
from exacthess.generic.rank import quantities
from exacthess.models.quantities import Quantity, block_column, is_quantity, parse_quantity


@pytest.mark.parametrize("arch", [FCN(3, (2, 4), 2), FCN(2, (3,), 1, bias=True), CNN((6,), (2,), 3, 2)])
def test_round_trip_and_columns(arch):
    start = 0
    for l, n in enumerate(arch.layer_param_counts, start=1):
        q = parse_quantity(f"H_f[:,{l}]")
        assert q == Quantity("H_f", l) and q.is_block_column and str(q) == block_column(l) == f"H_f[:,{l}]"
        assert q.columns(arch) == (start, n)
        start += n
    for name in ("H_o", "H_f", "H_L"):
        q = parse_quantity(name)
        assert q.layer is None and not q.is_block_column and str(q) == name
        assert q.columns(arch) == (0, sum(arch.layer_param_counts))
    assert all(str(parse_quantity(t)) == t for t in quantities(arch))
    with pytest.raises(InvalidValueError, match=r"layer 9; expected a layer 1\.\."):
        parse_quantity("H_f[:,9]").columns(arch)


@pytest.mark.parametrize("text", ["H_x", "H_f[:,0]", "H_f[:,01]", "H_o[:,1]", "H_L[:,2]", "H_f[:, 1]", "H_f[1]",
                                  "h_f", " H_f", "H_f[:,1", "C_act", "", None, 3])
def test_bad_text_is_refused(text):
    assert not is_quantity(text)
    with pytest.raises(InvalidValueError) as err:
        parse_quantity(text, "key")
    msg = str(err.value)
    assert msg.startswith(f"key = {text!r}") and "'H_o', 'H_f', 'H_L' or 'H_f[:,l]'" in msg
