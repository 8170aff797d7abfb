"""Error policy of the spectral entry points: wrong types raise a TypeError subclass, wrong
values a ValueError subclass, both under ExactHessError, with the argument named; Hypothesis
fuzzes every entry point with junk and checks that nothing else escapes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exacthess.spectral import conv_matrix, parameter_map
from exacthess.core.errors import ExactHessError, InvalidTypeError
from exacthess.spectral import (check_conv_sv_theorem, clip_operator_norm, conv_operator, conv_singular_values,
                                kernel_from_tensorflow)

K = np.ones((1, 1, 3))


@pytest.mark.parametrize("call, words", [
    (lambda: conv_singular_values(K, 4, certified="yes"), "certified = 'yes'"),
    (lambda: conv_singular_values(None, 4), "kernel = None"),
    (lambda: conv_singular_values(K, None), "input_shape = None"),
    (lambda: check_conv_sv_theorem("kernel", 4), "kernel = 'kernel'"),
    (lambda: check_conv_sv_theorem(K, 4, stride="2"), "stride = '2'"),
    (lambda: clip_operator_norm(K, 4, None), "bound = None"),
    (lambda: clip_operator_norm(K, 4, 1.0, method=3), "method = 3"),
    (lambda: kernel_from_tensorflow("abc"), "kernel = 'abc'"),
    (lambda: conv_operator(K, (4,), bias="b"), "bias = 'b'"),
])
def test_wrong_types(call, words):
    with pytest.raises(InvalidTypeError) as info:
        call()
    assert isinstance(info.value, TypeError) and words in str(info.value)


junk = st.one_of(
    st.none(), st.text(max_size=3), st.booleans(), st.integers(-3, 9),
    st.floats(allow_nan=True, allow_infinity=True, width=64), st.lists(st.integers(-2, 4), max_size=4),
    st.just([[[1, 2]], [[3]]]), st.just(np.ones((1, 1, 2, 2))), st.just(np.ones((2, 1, 3))),
    st.just((4, 4)), st.just("circular"), st.just(object()), st.just(np.array([np.nan])),
)

ENTRY_POINTS = {
    "conv_operator": lambda a, b, c, d: conv_operator(a, b, c, d),
    "conv_operator_domain": lambda a, b, c, d: conv_operator(K, 4, domain=a),
    "conv_singular_values": lambda a, b, c, d: conv_singular_values(a, b, c),
    "certified": lambda a, b, c, d: conv_singular_values(a, b, c, certified=True),
    "check_conv_sv_theorem": lambda a, b, c, d: check_conv_sv_theorem(a, b, c, d),
    "claimed": lambda a, b, c, d: check_conv_sv_theorem(K, 2, claimed=a),
    "clip_operator_norm": lambda a, b, c, d: clip_operator_norm(a, b, c, iterations=2),
    "clip_options": lambda a, b, c, d: clip_operator_norm(K, 4, 1.0, iterations=b, method=c, tol=d),
    "kernel_from_tensorflow": lambda a, b, c, d: kernel_from_tensorflow(a),
    "conv_matrix": lambda a, b, c, d: conv_matrix(a, b, c, d),
    "parameter_map": lambda a, b, c, d: parameter_map(a),
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
@given(a=junk, b=junk, c=junk, d=junk)
def test_fuzz_only_exacthess_errors_escape(name, a, b, c, d):
    try:
        ENTRY_POINTS[name](a, b, c, d)
    except ExactHessError as exc:
        assert isinstance(exc, (TypeError, ValueError)), type(exc)
        assert str(exc)
