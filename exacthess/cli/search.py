"""``exacthess search STATEMENT_ID``: run the counterexample search and print its result."""

from __future__ import annotations

import json

__all__ = ["configure", "run"]


def configure(ps) -> None:
    """Add the arguments of ``exacthess search`` to *ps*."""
    ps.add_argument("statement", metavar="STATEMENT_ID", help="a registered id (see `exacthess statements`)")
    ps.add_argument("--max-examples", type=int, default=50, metavar="N",
                    help="architectures to try, >= 1 (default 50; shrinking a counterexample comes on top)")
    ps.add_argument("--seed", type=int, default=0, help="Hypothesis seed, >= 0 (default 0)")
    ps.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args) -> int:
    """Search, print, and return 1 when a counterexample was found, else 0."""
    from ..core.errors import UnknownStatementError
    from ..experiments.claims.attention_claims import ATTENTION_CLAIMS
    from ..experiments.claims.kfac_search import KFAC_SEARCHES
    from ..experiments.search import search
    from ..statements import get_statement
    from .progress import ProgressReporter
    from .render import console
    if args.statement in KFAC_SEARCHES or str(args.statement).startswith("kfac."):
        return _run_kfac(args)  # an unknown kfac.* id is refused there, listing the KFAC claims
    if args.statement in ATTENTION_CLAIMS or str(args.statement).startswith("attention."):
        return _run_kfac(args)  # the same report; an unknown attention.* id is refused, listing the claims
    try:
        stmt = get_statement(args.statement)
    except UnknownStatementError as exc:
        raise UnknownStatementError(f"{exc}; or a KFAC claim: {', '.join(KFAC_SEARCHES)}; or an attention claim "
                                    f"(attention.<linear|softmax>.<Ho|Hf>.<QQ|QK|KK|QV|KV|VV>)") from None
    with ProgressReporter(prefix="[search]", total=args.max_examples) as prog, prog.step(f"searching {stmt.id}"):
        res = search(stmt.id, max_examples=args.max_examples, seed=args.seed,
                     progress=lambda done, total: prog.count(done, total))
    if args.json:
        print(json.dumps(res.to_dict(), indent=2))
        return 1 if res.counterexample else 0
    from rich.markup import escape
    con = console()
    con.print(f"[bold]{escape(stmt.id)}[/] ({stmt.kind}): " + escape(f"rank {stmt.quantity} {stmt.relation} {stmt.formula}"))
    con.print(escape(f"condition: {stmt.condition}\nsource: {stmt.citation}"))
    if res.counterexample is None:
        con.print(f"no counterexample in {res.examples} examples "
                  f"({res.n_applicable} satisfied the condition; {res.rate:.1f} architectures/s)")
        return 0
    ce = res.counterexample
    con.print(f"[bold red]counterexample[/] (shrunk; {res.examples} examples, {res.seconds:.1f} s):")
    con.print(escape(f"  architecture: {ce.arch!r}  ({ce.arch.n_params} parameters), n = {ce.n_samples} samples, "
                     f"seed {ce.seed}"))
    for r in ce.rows:
        con.print(escape(f"  rank {r.quantity} = {r.exact}, predicted {r.relation} {r.predicted}: {r.verdict}   [{r.how}]"
                         + (f"  ({r.note})" if r.note else "")))
    for r in ce.related:
        con.print(escape(f"  also checked: {r.statement} ({r.kind}): {r.exact} {r.relation} {r.predicted}: {r.verdict}"))
    from .render import reproduce_lines
    con.print("\n".join(reproduce_lines(ce.command, con.width, "  ")), markup=False, highlight=False, soft_wrap=True)
    return 1


def _run_kfac(args) -> int:
    """``exacthess search kfac.<id>`` / ``attention.<id>``: the KFAC and self-attention claims (exact
    identities, not ranks)."""
    from ..core.validate import check_int, check_seed
    from ..experiments.claims.attention_claims import search_attention
    from ..experiments.claims.kfac_search import search_kfac
    from .progress import ProgressReporter
    from .render import console
    check_int(args.max_examples, "--max-examples", 1)
    check_seed(args.seed)
    with ProgressReporter(prefix="[search]") as prog, prog.step(f"searching {args.statement}"):
        find = search_attention if str(args.statement).startswith("attention.") else search_kfac
        res = find(args.statement, max_examples=args.max_examples, seed=args.seed)
    ce = res.counterexample
    if args.json:
        print(json.dumps({"claim": res.claim, "examples": res.examples, "seconds": res.seconds,
                          "counterexample": None if ce is None else {"architecture": ce.architecture,
                                                                     "spec": ce.spec, "loss": ce.loss,
                                                                     "n_samples": ce.n_samples, "seed": ce.seed,
                                                                     "verdict": str(ce.verdict),
                                                                     "numbers": {k: str(v) for k, v in
                                                                                 ce.numbers.items()},
                                                                     "command": ce.command}}, indent=2))
        return 1 if ce else 0
    con = console()
    if ce is None:
        con.print(f"{res.claim}: no counterexample in {res.examples} examples ({res.seconds:.1f} s)")
        return 0
    con.print(f"{res.claim}: counterexample (shrunk; {res.examples} examples, {res.seconds:.1f} s): "
              f"{ce.architecture}, n = {ce.n_samples}, seed {ce.seed}, loss {ce.loss}: {ce.verdict}", markup=False)
    for k, v in ce.numbers.items():
        con.print(f"  {k}: {v}", markup=False)
    con.print(f"  {ce.command}", markup=False, soft_wrap=True)
    return 1
