"""``aekit sweep``: one model per (variant, code size), each beside PCA, as a table and a plot.

Registered on :data:`aekit.cli.main` when that module is imported (it imports
this one last), so it shares its error handling and help layout. The work is
:func:`aekit.analysis.run_sweep`; this module only maps flags onto it.
"""

from __future__ import annotations

from pathlib import Path

import click

from aekit.cli.common import CONTEXT, main, parse_settings
from aekit.registry import VARIANTS


class _GreedyCommand(click.Command):
    """``--code-dims 2 8 32``: a greedy flag takes every value up to the next flag.

    Click options take one value per flag, so before parsing, each further value
    gets its flag repeated (``--code-dims 2 --code-dims 8 --code-dims 32``), which
    ``multiple=True`` collects. DATA therefore comes before these flags.
    """

    greedy = ("--code-dims", "--variants")

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        out: list[str] = []
        current = None
        for i, arg in enumerate(args):
            if arg == "--":
                out += args[i:]
                break
            if arg.startswith("-") and not _is_number(arg):
                current = arg if arg in self.greedy else None
            elif current is not None and out[-1] != current:
                out.append(current)
            out.append(arg)
        return super().parse_args(ctx, out)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@main.command(cls=_GreedyCommand, context_settings=CONTEXT)
@click.argument("data")
@click.option(
    "--code-dims",
    "code_dims",
    type=int,
    multiple=True,
    required=True,
    metavar="K [--code-dims K ...]",
    help="Code sizes to train; several may follow one flag: --code-dims 2 8 16 32 64.",
)
@click.option(
    "--variants",
    "variants",
    type=click.Choice(VARIANTS.names()),
    multiple=True,
    help="Variants to train at every code size (default plain); several may follow one flag.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="Sweep folder: sweep.md, sweep.csv, sweep.png, runs/ and models/. Run again to continue.",
)
@click.option("--epochs", type=int, default=None, help="Training epochs of every model (default 20).")
@click.option("--batch-size", type=int, default=None, help="Samples per step (default 256).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split and of every model.")
@click.option("--limit", type=int, default=None, help="Use only the first N samples (quick runs).")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any other model or training option for every model, e.g. --set lr=1e-3 (repeatable).",
)
@click.option("--no-models", is_flag=True, help="Keep only the numbers, not each model directory.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def sweep(
    data: str,
    code_dims: tuple[int, ...],
    variants: tuple[str, ...],
    output: str,
    epochs: int | None,
    batch_size: int | None,
    seed: int,
    limit: int | None,
    settings: tuple[str, ...],
    no_models: bool,
    quiet: bool,
) -> None:
    """Train one model per code size (and variant) on DATA and compare each with PCA.

    The data is split once (the source's test split, else a seeded 20 %); every
    model is scored on the held-out rows beside PCA with as many components as
    its code size. Writes OUTPUT/sweep.md and sweep.csv (code size, compression
    ratio, test MSE, PCA's test MSE, gain vs PCA, train time), a plot of error
    against code size (sweep.png) and each model directory (OUTPUT/models/), and
    prints the table. Interrupted (Ctrl-C)? Run the same command again: finished
    models are kept and the unfinished one resumes from its last epoch.

    \b
    Example:
      aekit sweep builtin:digits --code-dims 2 8 16 32 64 -o digits-sweep
      aekit sweep builtin:fashion-mnist --code-dims 2 8 32 --variants plain vae -o fmnist-sweep --epochs 10
    """
    from aekit.analysis.sweep import run_sweep

    options = parse_settings(settings)
    if batch_size is not None:
        options["batch_size"] = batch_size
    out = Path(output)
    rows = run_sweep(
        data,
        list(code_dims),
        out,
        variants=list(variants) or ["plain"],
        epochs=epochs,
        seed=seed,
        limit=limit,
        save_models=not no_models,
        progress=not quiet,
        **options,
    )
    click.echo((out / "sweep.md").read_text(), nl=False)
    click.echo(f"\n{len(rows)} models; table: {out / 'sweep.md'}, {out / 'sweep.csv'}; plot: {out / 'sweep.png'}")
