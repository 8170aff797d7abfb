"""The command line's parser conventions: one-line errors, exit codes in every command's help.

* :class:`OneLineParser` -- ``argparse`` whose usage errors print one line ``error: ...`` on
  stderr and exit with code 2 (every subcommand's parser is one too);
* :data:`EXIT_CODES` -- the exit codes of every command, printed at the end of its ``--help``
  (:func:`add_exit_codes` puts them there after the parser is built).
"""

from __future__ import annotations

import argparse
import re
import textwrap

__all__ = ["OneLineParser", "HelpFormatter", "EXIT_CODES", "COMMON_CODES", "exit_text", "add_exit_codes", "walk", "writable",
           "join_negative_values"]

_VERIFY = """  0  every statement decided and holding
  1  a statement VIOLATED (published or proven) or refuted (conjecture or derived)
  2  bad input (one line 'error: ...' on stderr)
  3  nothing violated or refuted, but some statement undecided: the proven bounds
     do not decide it (the row says which bound is missing)"""
_CLAIMS = """  0  every verdict is what the document claims
  1  a claim contradicted (named)
  2  bad input (one line 'error: ...' on stderr)
  3  none contradicted but one undecided"""
_DONE = """  0  done
  2  bad input (one line 'error: ...' on stderr)"""

#: exit codes per command (the key is the command after ``exacthess``)
EXIT_CODES = {
    "verify fcn": _VERIFY, "verify cnn": _VERIFY, "verify torch": _VERIFY, "verify graph": _VERIFY,
    "verify conv-sv": """  0  the theorem holds (exact check)
  1  it does not hold
  2  bad input (one line 'error: ...' on stderr)""",
    "search": """  0  no counterexample found
  1  a counterexample found
  2  bad input (one line 'error: ...' on stderr)""",
    "reproduce notebook": """  0  every rank is the notebook's and every statement holds
  1  a rank differs from the notebook's, or a statement does not hold
  2  bad input (one line 'error: ...' on stderr)""",
    "reproduce cnn-trends": _DONE, "reproduce float-atlas": _DONE, "reproduce model-zoo": _DONE, "reproduce transformer-hessian": _DONE, "reproduce conv-sv": _DONE,
    "reproduce discussion": _CLAIMS, "reproduce approx-chain-rule": _CLAIMS,
    "statements": _DONE,
    "prove": """  0  every statement proven (or the list printed)
  1  a proof failed
  2  bad input (one line 'error: ...' on stderr)""",
    "prove generic": """  0  all generic ranks proven, applicable statements decided, none refuted
  1  a statement (not a conjecture) refuted by the proven ranks
  2  bad input or too large for the symbolic route (one line 'error: ...')
  3  nothing refuted, but a rank only bounded or a statement undecided""",
    "sweep": """  0  every job finished with status ok and no statement is violated
  1  some job failed, timed out or was lost, or a statement is violated
  2  bad input (one line 'error: ...' on stderr)""",
    "plot": _DONE, "fixtures": _DONE,
    "compare": """  0  every comparison within its bound (p eps max|exact|), with the exact rank
     and inertia
  1  a comparison out of its bound, or a rank or inertia that differs
  2  bad input (one line 'error: ...' on stderr)""",
    "check": """  0  every certificate verifies the rank the report states
  1  some certificate does not (e.g. a rank edited in the file)
  2  bad input (one line 'error: ...' on stderr)""",
}

#: codes every command shares
COMMON_CODES = """  70  internal error, a bug: please report it (EXACTHESS_TRACEBACK=1 shows it)
  130 interrupted (Ctrl-C); a sweep keeps its finished results
  141 the output was closed early by its reader (e.g. | head)"""


def exit_text(commands) -> str:
    """The ``exit codes:`` block for these commands (commands with the same codes share a block),
    then the codes every command shares."""
    groups: dict = {}
    for cmd in commands:
        groups.setdefault(EXIT_CODES[cmd], []).append(cmd)
    lines = ["exit codes:"]
    for text, cmds in groups.items():
        if len(commands) > 1:
            lines.append("  " + ", ".join(cmds))
        lines += [("  " if len(commands) > 1 else "") + row for row in text.splitlines()]
    if len(commands) > 1:
        lines.append("  every command")
    lines += [("  " if len(commands) > 1 else "") + row for row in COMMON_CODES.splitlines()]
    return "\n".join(lines)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs keep their line breaks (tables of exit codes), and every line longer
    than the help width (the terminal's, 80 columns when piped) is folded at spaces, continuation
    lines indented past the line's own indent (past the code, for a row of exit codes)."""

    def _fill_text(self, text, width, indent):
        out, prose = [], []

        def fill(line, lead, more):
            return textwrap.fill(line, width, initial_indent=indent + lead, subsequent_indent=indent + more,
                                 break_long_words=False, break_on_hyphens=False)

        def flush():
            if prose:
                out.append(fill(" ".join(prose), "", ""))
                prose.clear()
        for line in text.splitlines():
            if line and not line[0].isspace():  # prose: consecutive lines form one paragraph
                prose.append(line.strip())
                continue
            flush()
            if len(indent) + len(line) <= width:
                out.append(indent + line)
                continue
            lead = line[:len(line) - len(line.lstrip())]
            code = re.match(r"\s+\d+\s+", line)
            out.append(fill(line.strip(), lead, " " * len(code.group(0)) if code else lead + "  "))
        flush()
        return "\n".join(out)


#: a value that starts like a negative number: -1, -1/1000, -.5, -1e-3 (argparse reads -1/1000 as an option)
_NEGATIVE = re.compile(r"-(\d|\.\d)")


def join_negative_values(argv) -> list:
    """``["--round-to", "-1/1000"]`` -> ``["--round-to=-1/1000"]``: a value that starts like a negative number
    stays the value of the option before it (argparse would read ``-1/1000`` as an unknown option and
    say ``expected one argument``); the command then judges the value itself.

    >>> join_negative_values(["verify", "--round-to", "-1/1000", "--seed", "2"])
    ['verify', '--round-to=-1/1000', '--seed', '2']
    """
    out: list = []
    for arg in argv:
        prev = out[-1] if out else ""
        if isinstance(arg, str) and _NEGATIVE.match(arg) and prev.startswith("--") and "=" not in prev:
            out[-1] = f"{prev}={arg}"
        else:
            out.append(arg)
    return out


class OneLineParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``error: ...`` on stderr, exit code 2; an option's value may start
    like a negative number (:func:`join_negative_values`)."""

    def error(self, message):
        # the message quotes the user's tokens as typed: a control character (a newline) stays one line
        message = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in message)
        self.exit(2, f"error: {self.prog}: {message}\n")

    def parse_known_args(self, args=None, namespace=None):
        import sys
        args = join_negative_values(sys.argv[1:] if args is None else list(args))
        return super().parse_known_args(args, namespace)


def walk(parser: argparse.ArgumentParser, path: tuple = ()):
    """``(path, parser)`` for the parser and every subcommand's parser, depth first."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, path + (name,))


def add_exit_codes(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Put the exit codes in the help of every command: its own codes and those of its
    subcommands (``verify``, ``reproduce``, ``prove`` and ``prove generic``, the top level: all). Existing
    epilogs are kept (the exit codes follow)."""
    for path, p in walk(parser):
        key = " ".join(path)
        cmds = [k for k in EXIT_CODES if not key or k == key or k.startswith(key + " ")]
        if not cmds:
            continue
        text = exit_text(cmds)
        p.epilog = f"{p.epilog}\n\n{text}" if p.epilog and "exit codes:" not in p.epilog else (p.epilog or text)
        p.formatter_class = HelpFormatter
    return parser


def writable(path, name: str, folder: bool = True):
    """Create the folder ``path`` (or, with ``folder=False``, the folder of the file ``path``) and
    return it as a :class:`~pathlib.Path`; a path that cannot be created raises
    :class:`~exacthess.core.errors.InvalidValueError` naming the option (``--out``)."""
    from pathlib import Path

    from ..core.errors import InvalidValueError
    p = Path(path)
    try:
        (p if folder else p.parent).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        what = "a writable folder" if folder else "a file in a writable folder"
        raise InvalidValueError(f"{name} = {str(path)!r} cannot be created ({exc.strerror or exc}); expected "
                                f"{what}") from None
    return p
