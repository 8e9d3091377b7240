"""``aekit fit``, ``encode``, ``decode``, ``reconstruct``, ``evaluate`` and ``demo``: one model, end to end."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from aekit.cli.common import (
    CONTEXT,
    columns_of,
    data_record,
    load_data,
    load_model,
    main,
    parse_settings,
    print_metrics,
    read_toml,
    trust_code_option,
    write_array,
    write_output,
    write_table,
)
from aekit.cli.options import given_options, option_flags, to_params
from aekit.errors import ConfigError
from aekit.registry import factory_module


@main.command(context_settings=CONTEXT)
@click.argument("data")
@click.option("-o", "--output", "output", required=True, type=click.Path(), help="Model directory to write.")
@click.option("--limit", type=int, default=None, help="Use only the first N samples (quick runs).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(),
    default=None,
    help="TOML file of options ([model], [train] and [data] tables, keys as in the README table); flags and --set "
    "override it.",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any other option, e.g. --set corruption_level=0.5 --set penalty=l1 (repeatable).",
)
@click.option("--resume", is_flag=True, help="Continue from MODEL/checkpoint after an interruption.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the HTML report (as `aekit report`) on the held-out rows to this file.",
)
@click.option(
    "--stream/--no-stream",
    "stream",
    default=None,
    help="Read DATA (.npy or .parquet, numbers without gaps) a chunk at a time instead of loading "
    "it: memory stays bounded for files of any size. Default: stream when the file is larger "
    "than half the available memory. Example: aekit fit big.npy -o big-model --stream",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@option_flags
def fit(
    data: str,
    output: str,
    config_file: str | None,
    resume: bool,
    quiet: bool,
    limit: int | None,
    settings: tuple[str, ...],
    report_path: str | None,
    **flags: Any,
) -> None:
    """Train an autoencoder on DATA and save it to a model directory.

    DATA is a .npy/.npz/.csv file, a UCR/UEA .ts file of sequences, a folder of
    images, IDX files or builtin:NAME (shapes12, digits, fashion-mnist, mnist,
    swissroll). The source's own test
    split (or a seeded 20 % of the rows) is held out and the test error is printed
    beside PCA's at the same code size.

    \b
    Example:
      aekit fit builtin:fashion-mnist -o fmnist-32 --code-dim 32
      aekit fit images/ -o faces --arch conv --code-dim 16 --epochs 30
      aekit fit builtin:digits -o den --variant denoising --set corruption_level=0.5
      aekit fit GunPoint_TRAIN.ts -o gunpoint --code-dim 8
      aekit fit builtin:digits -o digits-vae --variant vae --code-dim 2 --report digits-vae.html
      aekit fit big-images.npy -o big-model --stream --epochs 5
      torchrun --nproc_per_node 4 -m aekit fit builtin:mnist -o mnist-32 --batch-size 1024

    Under torchrun each process trains on its shard of every batch (--batch-size is
    the global batch); rank 0 alone writes the checkpoint and the model and prints.
    """
    from aekit.data.stream import open_stream, should_stream
    from aekit.estimators.autoencoder import AutoEncoder
    from aekit.train import distributed, remove_checkpoint

    distributed.setup()  # joins torchrun's process group; a no-op outside torchrun
    quiet = quiet or not distributed.is_main()
    stream = flags.pop("stream")
    stream = should_stream(data) if stream is None else stream
    if stream and report_path is not None:
        raise ConfigError(
            "--report loads DATA into memory; it cannot be combined with --stream (run `aekit "
            "report MODEL DATA` on a sample of the rows instead)"
        )

    if report_path is not None and Path(report_path).suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--report {report_path} must end in .html")  # before training, not after
    options = to_params(read_toml(config_file), str(config_file))
    options.update(to_params(parse_settings(settings), "--set"))
    options.update(given_options(flags))  # flags win over --set, which wins over the file
    est = AutoEncoder(**options)
    with distributed.main_first():  # under torchrun one download fills the cache, not one per process
        ds = open_stream(data, limit=limit) if stream else load_data(data, limit, missing="mask")
    seed = est.random_state
    train, test = ds.split(test_size=0.2, seed=seed)
    model_dir = Path(output)
    est.set_params(checkpoint_dir=model_dir / "checkpoint", resume=resume, verbose=not quiet)
    if not quiet:
        click.echo(f"data: {ds!r}\ntraining on {len(train)} samples, holding out {len(test)} for the test error")
    t0 = time.perf_counter()
    est.fit(train)
    seconds = time.perf_counter() - t0
    main = distributed.is_main()
    distributed.teardown()  # training is over: rank 0 evaluates, saves and prints alone
    if not main:
        return
    metrics = est.evaluate(test)
    metrics["train_seconds"] = seconds
    metrics["best_epoch"] = est.best_epoch_
    est.save(model_dir, metrics=metrics, data=data_record(ds, train, test, seed, limit))
    remove_checkpoint(model_dir / "checkpoint")
    print_metrics(metrics, "held-out data")
    click.echo(f"trained in {seconds:.1f} s; model saved to {model_dir}")
    if report_path is not None:  # from the saved directory, so it equals `aekit report MODEL DATA`
        from aekit.report.html import write_report

        own = [factory_module(p) for p in (est.model_.config.encoder, est.model_.config.decoder) if p]
        path = write_report(load_model(str(model_dir), trust_code=own), ds, report_path)  # modules fit just ran
        click.echo(f"report written to {path}")


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("data")
@click.option("-o", "--output", required=True, type=click.Path(), help="codes.npy or codes.csv")
@trust_code_option
def encode(model: str, data: str, output: str, trust_code: tuple[str, ...]) -> None:
    """Write the deterministic code of every sample in DATA.

    A .npy or Parquet DATA is read, encoded and written a chunk at a time, so
    memory stays bounded for files of any size.

    \b
    Example:
      aekit encode digits-model builtin:digits -o codes.csv
      aekit encode big-model big-images.npy -o codes.npy
    """
    from aekit.data.stream import open_stream, streamable

    est = load_model(model, trust_code)
    if streamable(data) and Path(output).suffix.lower() in (".npy", ".csv"):
        from aekit.estimators.streaming import encode_file

        n, shape = encode_file(est, open_stream(data), output)
        click.echo(f"wrote {n} codes of size {shape[0] if shape else 1} to {output}")
        return
    codes = est.transform(load_data(data, missing="mask"))
    write_array(codes, Path(output), [f"z{i}" for i in range(codes.shape[1])])
    click.echo(f"wrote {codes.shape[0]} codes of size {codes.shape[1]} to {output}")


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("codes", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(), help="out.npy, out.csv or out.png (images)")
@trust_code_option
def decode(model: str, codes: str, output: str, trust_code: tuple[str, ...]) -> None:
    """Decode CODES (.npy or .csv, one code per row) back to samples.

    \b
    Example:
      aekit encode digits-model builtin:digits -o codes.npy
      aekit decode digits-model codes.npy -o decoded.png
    """
    est = load_model(model, trust_code)
    z = load_data(codes).flat()
    out = est.inverse_transform(z)
    write_output(out, Path(output), columns=columns_of(est))
    click.echo(f"wrote {len(out)} decoded samples to {output}")


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("data")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="out.npy, out.csv or out.png (inputs above their reconstructions); tables: .csv or .parquet",
)
@click.option("--limit", type=int, default=None, help="Only the first N samples.")
@click.option(
    "--all-cells",
    is_flag=True,
    help="Tables: write the reconstruction of every cell, not the input with its gaps filled.",
)
@trust_code_option
def reconstruct(
    model: str, data: str, output: str, limit: int | None, all_cells: bool, trust_code: tuple[str, ...]
) -> None:
    """Reconstruct every sample of DATA through the bottleneck.

    A table (CSV or Parquet) given to a model fitted on one is written back as a
    table with the same columns: observed cells as they were, missing cells
    filled from the model (imputation); --all-cells writes every cell's
    reconstruction instead.

    \b
    Example:
      aekit reconstruct digits-model builtin:digits -o recon.png --limit 32
      aekit fit survey.csv -o survey-model --code-dim 4
      aekit reconstruct survey-model survey.csv -o survey-filled.csv
    """
    est = load_model(model, trust_code)
    ds = load_data(data, limit, missing="mask")
    if getattr(est, "schema_", None) is not None and ds.frame is not None:
        write_table(est, ds, Path(output), all_cells)
        return
    out = est.reconstruct(ds)
    write_output(out, Path(output), images_above=ds.x, columns=columns_of(est))
    click.echo(
        f"wrote {len(out)} reconstructions to {output} (mean squared error {est.reconstruction_error(ds).mean():.5f})"
    )


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("data")
@click.option(
    "--split",
    type=click.Choice(["auto", "all"]),
    default="auto",
    show_default=True,
    help="auto: the source's test split, or the rows fit held out when DATA is the training data.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@trust_code_option
def evaluate(model: str, data: str, split: str, as_json: bool, trust_code: tuple[str, ...]) -> None:
    """Reconstruction error on DATA beside PCA's at the same code size.

    \b
    Example:
      aekit evaluate digits-model builtin:digits
    """
    est = load_model(model, trust_code)
    ds = load_data(data, missing="mask")
    part, where = ds.held_out(est.data_) if split == "auto" else (ds, f"all {len(ds)} rows")
    metrics = est.evaluate(part)
    decisions = getattr(est, "decisions_", None)
    if as_json:
        extra = {"decisions": decisions.to_dict()} if decisions is not None else {}
        click.echo(json.dumps({**metrics, "rows": where, **extra}, indent=1))
    else:
        if decisions is not None:
            click.echo(f"decided at fit: {decisions.describe()}")
        print_metrics(metrics, where)


@main.command(context_settings=CONTEXT)
@click.option(
    "-o",
    "--output",
    default="aekit-demo",
    show_default=True,
    type=click.Path(),
    help="Folder for the model directory and the PNG.",
)
@click.option("--data", default="builtin:digits", show_default=True, help="Any DATA spec.")
@click.option("--code-dim", type=int, default=8, show_default=True)
@click.option("--epochs", type=int, default=100, show_default=True)
@click.option(
    "--batch-size",
    type=int,
    default=64,
    show_default=True,
    help="Small batches: 1,438 digits give few steps per epoch otherwise.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def demo(output: str, data: str, code_dim: int, epochs: int, batch_size: int, quiet: bool) -> None:
    """The main job end to end on embedded data, in well under a minute.

    Trains the default autoencoder on scikit-learn's 8x8 digits, prints its test
    error beside PCA's, and writes a model directory, a PNG of held-out inputs
    above their reconstructions and the HTML report, then prints how to open the
    explorer on the model.

    \b
    Example:
      aekit demo
      aekit demo --data builtin:shapes12 --code-dim 2
    """
    from aekit.estimators.autoencoder import AutoEncoder
    from aekit.report.images import image_grid, save_png

    t0 = time.perf_counter()
    ds = load_data(data)
    train, test = ds.split(test_size=0.2, seed=0)
    click.echo(f"aekit demo: {ds!r}")
    click.echo(f"training the default autoencoder (code size {code_dim}) on {len(train)} samples ...")
    est = AutoEncoder(code_dim=code_dim, epochs=epochs, batch_size=batch_size, random_state=0, verbose=not quiet).fit(
        train
    )
    metrics = est.evaluate(test)
    metrics["train_seconds"] = time.perf_counter() - t0
    out = Path(output)
    model_dir = est.save(out / "model", metrics=metrics, data=data_record(ds, train, test, 0))
    print_metrics(metrics, "held-out data")
    if ds.kind == "image":
        png = save_png(
            image_grid([test.x[:16], est.reconstruct(test.subset(slice(0, 16)))], scale=max(1, 64 // ds.x.shape[-1])),
            out / "reconstructions.png",
        )
        click.echo(f"inputs (top) and reconstructions (bottom): {png}")
    click.echo(f"model directory: {model_dir}  (try: aekit evaluate {model_dir} {data})")
    from aekit.report.html import write_report

    report = write_report(load_model(str(model_dir)), ds, out / "report.html")  # the held-out rows, as fit --report
    click.echo(f"report (open it in a browser, works offline): {report}")
    click.echo(f"explore it in your browser: aekit explore {model_dir}  (prints the page's URL)")
    click.echo(f"done in {time.perf_counter() - t0:.1f} s")
