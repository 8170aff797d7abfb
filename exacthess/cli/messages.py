"""Errors as the command line spells them: options where the library names its arguments.

The library's errors name Python arguments (``n_samples = 0 is not valid``) and give Python
advice (``round_to='1/1000'``). On the command line the user typed options, so
:func:`error_text` shows

* the error's own command-line message when it carries one
  (:class:`~exacthess.core.errors.ExactHessError` ``cli=``: advice that differs, e.g.
  ``--round-to 1/1000``);
* every argument the user gave as an option spelled as that option
  (:data:`OPTIONS`: ``n_samples = 0`` -> ``--samples = 0``), only when the option is on the
  command line, so a name in another sense (``sweep.input_dim`` of a spec file,
  ``spec['seed']``) is left as it is.

>>> from exacthess.core.errors import InvalidValueError
>>> error_text(InvalidValueError("budget_seconds = -1.0 is too small; expected a finite number >= 0"),
...            ["verify", "fcn", "--budget", "-1"])
'--budget = -1.0 is too small; expected a finite number >= 0'
>>> error_text(InvalidValueError("sweep.seed = -1 is not valid"), ["sweep", "grid.toml", "--seed", "1"])
'sweep.seed = -1 is not valid'
"""

from __future__ import annotations

import re

__all__ = ["OPTIONS", "error_text", "given_options"]

#: the library's argument names and the command-line options that set them (a tuple: the commands
#: spell it differently)
OPTIONS = {
    "n_samples": "--samples", "budget_seconds": "--budget", "round_to": "--round-to", "input_dim": "--input-dim",
    "output_dim": "--output-dim", "widths": "--widths", "input_shape": ("--input-shape", "--input"), "channels": "--channels",
    "kernel_sizes": "--kernel-sizes", "strides": "--strides", "paddings": "--paddings",
    "in_channels": "--in-channels", "activation": "--activation", "loss": "--loss", "seed": "--seed",
    "point": "--point", "certify": "--certify", "max_examples": "--max-examples", "workers": "--workers",
    "seeds": "--seeds", "budget": "--budget", "scheduler": "--scheduler", "claim": "--claim",
    "max_n": "--max-n", "max_m": "--max-m", "dense_limit": "--dense-limit", "kernel-shape": "--kernel-shape",
    "kernel": "--kernel", "input": "--input", "stride": "--stride", "padding": "--padding", "data": "--data",
}


def given_options(argv) -> set:
    """The options on the command line ``argv`` (``--name`` and ``--name=value`` alike)."""
    return {str(a).split("=", 1)[0] for a in (argv or ()) if str(a).startswith("--")}


def error_text(exc: BaseException, argv) -> str:
    """The one-line message of ``exc`` for a user who typed ``argv`` (see the module docstring)."""
    text = getattr(exc, "cli", None) or str(exc)
    text = " ".join(text.split())
    given = given_options(argv)
    for name, options in OPTIONS.items():
        option = next((o for o in ((options,) if isinstance(options, str) else options) if o in given), None)
        if option is not None:  # an argument several commands spell differently: the spelling typed
            # "name = ", "name[1] = ", "name >= ": the argument itself, not a key of a spec or a word
            text = re.sub(rf"(?<![\w.'\"\[-]){re.escape(name)}(?=(\[\d+\])* (=|>=|<=) )", option, text)
    return text
