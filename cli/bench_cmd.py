"""``fedinsight bench ...``: the benchmarks, commands that print figures."""

from __future__ import annotations

import typer
from rich.console import Console

bench_app = typer.Typer(help="Benchmarks: commands that print figures.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@bench_app.command("all")
def bench_all() -> None:
    """Every benchmark, one after the other."""
    for name in ("federated", "dp", "audit", "pii", "deployment", "score"):
        console.rule(name)
        _run_bench(name)


def _run_bench(name: str, argv: list[str] | None = None) -> None:
    import importlib

    try:
        module = importlib.import_module(f"simulations.bench_{name}")
    except ImportError as exc:
        err.print(f"[yellow]benchmark {name} is not available: {exc}[/yellow]")
        return
    import inspect

    if "argv" in inspect.signature(module.main).parameters:
        module.main(argv or [])  # its own argument parser must not read `fedinsight bench ...`
    elif argv in (["--help"], ["-h"]):
        typer.echo((module.__doc__ or f"The {name} benchmark.").strip())
        typer.echo(f"\nfedinsight bench {name} takes no options.")
    elif argv:
        raise typer.BadParameter(f"the {name} benchmark takes no options: {' '.join(argv)}")
    else:
        module.main()


def _command(name: str) -> None:
    def run(ctx: typer.Context) -> None:
        _run_bench(name, list(ctx.args))

    bench_app.command(
        name,
        help=f"The {name} benchmark (options after its name are its own).",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )(run)


for _name in ("federated", "audit", "pii", "dp", "deployment", "score"):
    _command(_name)


@bench_app.command(
    "scale",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def bench_scale(ctx: typer.Context) -> None:
    """A simulation at scale: 100k, 300k and 1M synthetic customers over 100 partners.

    Options (see `fedinsight bench scale --help`): --customers, --partners, --json.
    """
    from simulations.bench_scale import main

    main(list(ctx.args))
