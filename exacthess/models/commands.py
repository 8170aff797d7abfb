"""Command lines that reproduce an experiment (``exacthess verify ...``), built from plain specs."""

from __future__ import annotations

import shlex

__all__ = ["verify_command"]

_ARCH_KEYS = ("family", "input_dim", "widths", "output_dim", "input_shape", "channels", "kernel_sizes",
              "in_channels", "strides", "paddings", "bias")


def _fmt(vals) -> str:
    return ",".join("x".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v) for v in vals)


def verify_command(spec: dict, **options) -> str:
    """``exacthess verify fcn|cnn ...`` for an architecture spec (``arch.to_spec()``) and options.

    Options are written as ``--name value`` (underscores become dashes; values quoted for the
    shell when they need it); ``True`` writes the bare flag, ``False`` and ``None`` are left out.

    >>> verify_command({"family": "fcn", "input_dim": 4, "widths": [3], "output_dim": 2, "bias": True},
    ...                samples=5, seed=0)
    'exacthess verify fcn --input-dim 4 --widths 3 --output-dim 2 --bias --samples 5 --seed 0'
    """
    fam = spec["family"]
    parts = ["exacthess", "verify", fam]
    if fam == "graph":
        import json
        parts += ["--spec", shlex.quote(json.dumps({k: v for k, v in spec.items() if k != "family"},
                                                   separators=(",", ":")))]
    elif fam == "transformer":  # every option is in the spec: written below as --name value
        pass
    elif fam == "fcn":
        widths = _fmt(spec["widths"]) if spec["widths"] else '""'
        parts += ["--input-dim", str(spec["input_dim"]), "--widths", widths, "--output-dim", str(spec["output_dim"])]
    else:
        parts += ["--input-shape", "x".join(map(str, spec["input_shape"])), "--channels", _fmt(spec["channels"]),
                  "--kernel-sizes", _fmt(spec["kernel_sizes"]), "--output-dim", str(spec["output_dim"])]
        if spec.get("in_channels", 1) != 1:
            parts += ["--in-channels", str(spec["in_channels"])]
        if any(v not in (1, [1, 1], (1, 1)) for v in spec.get("strides", [])):
            parts += ["--strides", _fmt(spec["strides"])]
        if any(v not in (0, [0, 0], (0, 0)) for v in spec.get("paddings", [])):
            parts += ["--paddings", _fmt(spec["paddings"])]
    if spec.get("bias"):
        parts.append("--bias")
    extra = {} if fam == "graph" else {k: v for k, v in spec.items() if k not in _ARCH_KEYS or
                                       (fam == "transformer" and k == "output_dim")}  # e.g. activation
    for key, value in {**extra, **options}.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        parts += [flag] if value is True else [flag, _quoted(str(value))]
    return " ".join(parts)


def _quoted(text: str) -> str:
    """``text`` quoted for a POSIX shell when it needs it (``poly(0, 1)``), unless already quoted.

    >>> _quoted("relu"), _quoted("poly(0, 1)"), _quoted("'bce'")
    ('relu', "'poly(0, 1)'", "'bce'")
    """
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text
    return shlex.quote(text)
