r"""The names of the Hessian quantities, parsed in one place.

A *quantity* names a matrix whose rank exacthess computes: one of

* ``"H_o"`` -- the outer-product term :math:`H_o = \sum_i J_i^\top A_i J_i`;
* ``"H_f"`` -- the functional term :math:`H_f = \sum_i \nabla^2_\theta (g_i^\top F(x_i;\theta))`;
* ``"H_L"`` -- the loss Hessian :math:`H_L = H_o + H_f`;
* ``"H_f[:,l]"`` -- the block column of :math:`H_f` of layer ``l`` (``1 <= l <= L + 1``): all
  rows, the columns of the parameters of layer ``l``, i.e. the columns
  :math:`o_l, \dots, o_l + p_l - 1` with :math:`o_l` the layer's offset and :math:`p_l` its
  parameter count.

:func:`parse_quantity` turns the text into a :class:`Quantity`; ``str()`` turns it back.

>>> q = parse_quantity("H_f[:,2]")
>>> q.matrix, q.layer, str(q)
('H_f', 2, 'H_f[:,2]')
>>> str(parse_quantity("H_L")), block_column(3)
('H_L', 'H_f[:,3]')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.errors import InvalidValueError

__all__ = ["Quantity", "parse_quantity", "is_quantity", "block_column", "MATRICES", "ACCEPTED"]

#: the whole matrices a quantity may name
MATRICES = ("H_o", "H_f", "H_L")
#: the accepted forms, as listed in error messages
ACCEPTED = "'H_o', 'H_f', 'H_L' or 'H_f[:,l]' with an int l >= 1"

_PATTERN = re.compile(r"(H_o|H_f|H_L)(?:\[:,([1-9]\d*)\])?")


@dataclass(frozen=True)
class Quantity:
    """A parsed quantity: a whole matrix (``layer`` None) or the block column ``layer`` of ``H_f``.

    Args:
        matrix: ``"H_o"``, ``"H_f"`` or ``"H_L"``.
        layer: the layer ``l`` (1-based) of a block column :math:`H_f[:, l]`, or None.
    """

    matrix: str
    layer: int | None = None

    def __str__(self) -> str:
        return self.matrix if self.layer is None else f"{self.matrix}[:,{self.layer}]"

    @property
    def is_block_column(self) -> bool:
        """True for a block column ``H_f[:,l]``."""
        return self.layer is not None

    def columns(self, arch) -> tuple[int, int]:
        r"""``(first column, number of columns)`` of the quantity in the ``p x p`` matrix of ``arch``.

        A whole matrix has the columns :math:`0, \dots, p - 1`; the block column of layer ``l``
        the columns :math:`o_l, \dots, o_l + p_l - 1` (``arch.layer_offsets``,
        ``arch.layer_param_counts``).

        Raises:
            InvalidValueError: the layer is beyond the architecture's ``L + 1`` layers.
        """
        if self.layer is None:
            return 0, arch.n_params
        n_layers = len(arch.layer_param_counts)
        if self.layer > n_layers:
            raise InvalidValueError(f"quantity = {str(self)!r} names layer {self.layer}; expected a layer "
                                    f"1..{n_layers} of {arch!r}")
        return arch.layer_offsets[self.layer - 1], arch.layer_param_counts[self.layer - 1]


def parse_quantity(text, name: str = "quantity") -> Quantity:
    """The :class:`Quantity` written ``text`` (``"H_o"``, ``"H_f"``, ``"H_L"`` or ``"H_f[:,l]"``).

    Args:
        text: the quantity's name; ``str(parse_quantity(text)) == text`` for every accepted text.
        name: the argument's name in error messages.

    Raises:
        InvalidValueError: ``text`` is not one of the accepted forms (the message lists them).
    """
    m = _PATTERN.fullmatch(text) if isinstance(text, str) else None
    if m is None or (m.group(2) is not None and m.group(1) != "H_f"):
        raise InvalidValueError(f"{name} = {text!r} is not a known quantity; expected {ACCEPTED}")
    return Quantity(m.group(1), None if m.group(2) is None else int(m.group(2)))


def is_quantity(text) -> bool:
    """True when :func:`parse_quantity` accepts ``text``."""
    try:
        parse_quantity(text)
    except InvalidValueError:
        return False
    return True


def block_column(l: int) -> str:
    """The name ``"H_f[:,l]"`` of the block column of :math:`H_f` of layer ``l``."""
    return str(Quantity("H_f", l))
