"""The ``aekit`` command. Every subcommand has ``--help`` with an example.

Outputs are chosen by suffix (``.npy``, ``.csv``, ``.png``) and written
atomically: a failed command leaves no partial file behind.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from aekit.errors import AekitError, ConfigError, TrainingInterrupted
from aekit.registry import ARCHITECTURES, VARIANTS

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Group(click.Group):
    """Turns aekit's own errors into one clear line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrainingInterrupted as exc:
            click.echo(f"\naekit: {exc}", err=True)
            sys.exit(130)
        except AekitError as exc:
            click.echo(f"aekit: error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(package_name="aekit")
def main() -> None:
    """aekit: train an autoencoder, then embed, reconstruct and compare with PCA.

    \b
    Example:
      aekit demo
      aekit fit builtin:digits -o digits-model --code-dim 8
      aekit evaluate digits-model builtin:digits
    """


# -- shared helpers ------------------------------------------------------------------
def _load_data(spec: str, limit: int | None = None, missing: str = "error"):
    """``missing="mask"``: tables may have empty cells (the commands whose model masks and imputes them)."""
    from aekit import data

    return data.load(spec, limit=limit, missing=missing)


def _load_model(path: str):
    from aekit.estimator import AutoEncoder

    return AutoEncoder.load(path)


def _write_array(array: np.ndarray, out: Path, columns: list[str] | None = None) -> None:
    """Write ``array`` as .npy or .csv by suffix, atomically."""
    from aekit._atomic import atomic_path, make_dir

    suffix = out.suffix.lower()
    if suffix not in (".npy", ".csv"):
        raise ConfigError(f"output {out} must end in .npy or .csv")
    make_dir(out.parent)
    with atomic_path(out) as tmp:
        if suffix == ".npy":
            np.save(tmp, array)
        else:
            flat = array.reshape(len(array), -1)
            names = columns if columns and len(columns) == flat.shape[1] else [f"x{i}" for i in range(flat.shape[1])]
            np.savetxt(tmp, flat, delimiter=",", header=",".join(names), comments="", fmt="%.7g")


def _write_output(array: np.ndarray, out: Path, *, images_above: np.ndarray | None = None,
                  columns: list[str] | None = None) -> None:
    """.npy / .csv via :func:`_write_array`; .png as an image grid (inputs above, if given)."""
    if out.suffix.lower() == ".png":
        from aekit._atomic import make_dir
        from aekit.report.images import image_grid, save_png

        if array.ndim != 4:
            raise ConfigError(f"{out}: a PNG grid needs image samples; this data has shape {array.shape[1:]}, "
                              "write .npy or .csv instead")
        rows = [array[:64]] if images_above is None else [images_above[:32], array[:32]]
        make_dir(out.parent)
        save_png(image_grid(rows, scale=max(1, 96 // array.shape[-1])), out)
    else:
        _write_array(array, out, columns)


def _data_record(ds, train, test, split_seed: int, limit: int | None = None) -> dict[str, Any]:
    """What the model directory remembers of its data, so evaluate can find the held-out rows."""
    split = "source" if ds.is_test is not None and ds.is_test.any() else "random"
    return {"spec": ds.name, "n": len(ds), "limit": limit, "split": split, "test_size": 0.2,
            "split_seed": split_seed, "n_train": len(train), "n_test": len(test), "columns": ds.columns}


def _print_metrics(metrics: dict, where: str) -> None:
    k = metrics["code_dim"]
    gain = metrics["gain_vs_pca"]
    verdict = f"{gain:.0%} lower than PCA" if gain >= 0 else f"{-gain:.0%} HIGHER than PCA: PCA wins"
    click.echo(f"test error on {where} ({metrics['n_samples']} samples), code size {k} "
               f"({metrics['compression_ratio']:.1f}x compression):")
    click.echo(f"  autoencoder MSE {metrics['mse']:.5f}")
    click.echo(f"  PCA-{k} MSE       {metrics['pca_mse']:.5f}")
    click.echo(f"  -> {verdict}")
    sparsity = metrics.get("code_sparsity")
    if sparsity:
        click.echo(f"  code: {sparsity['near_zero_share']:.0%} of units near zero, "
                   f"mean |z| {sparsity['mean_abs_activation']:.3g}")
    vq = metrics.get("vq")
    if vq:
        click.echo(f"  VQ: {vq['tokens_per_sample']} tokens per sample, codebook usage {vq['codebook_usage']:.0%}, "
                   f"perplexity {vq['perplexity']:.0f}")
    vae = metrics.get("vae")
    if vae:
        click.echo(f"  VAE: ELBO {vae['elbo']:.2f} nats, importance-weighted bound (k={vae['iw_k']}) "
                   f"{vae['iw_bound']:.2f}, KL {vae['kl']:.2f}, active units {vae['active_units']}/{k}")


def _parse_settings(settings: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values are read as JSON where they parse (numbers, true, null, lists)."""
    out: dict[str, Any] = {}
    for item in settings:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r} must look like KEY=VALUE, e.g. --set corruption_level=0.5")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        out[key.strip().replace("-", "_")] = value
    return out


def _read_toml(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    import tomllib

    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict) and key in ("model", "train"):
            flat.update(value)
        else:
            flat[key] = value
    return {k.replace("-", "_"): v for k, v in flat.items()}


# -- commands ---------------------------------------------------------------------------
@main.command(context_settings=CONTEXT)
@click.argument("data")
@click.option("-o", "--output", "output", required=True, type=click.Path(), help="Model directory to write.")
@click.option("--variant", type=click.Choice(VARIANTS.names()), default=None, help="Named preset (default plain).")
@click.option("--code-dim", type=int, default=None, help="Bottleneck size (default 32).")
@click.option("--arch", type=click.Choice(ARCHITECTURES.names()), default=None, help="Architecture (default mlp).")
@click.option("--epochs", type=int, default=None, help="Passes over the training data (default 20).")
@click.option("--batch-size", type=int, default=None, help="Samples per step (default 256).")
@click.option("--lr", type=float, default=None, help="Peak learning rate (default 2e-3).")
@click.option("--seed", type=int, default=None, help="Seed for initialisation, split and shuffling (default 0).")
@click.option("--device", default=None, help="auto (default), cpu, cuda or mps.")
@click.option("--precision", default=None, help="auto (default), bf16 or fp32.")
@click.option("--limit", type=int, default=None, help="Use only the first N samples (quick runs).")
@click.option("--config", "config_file", type=click.Path(), default=None,
              help="TOML file of options ([model] and [train] tables); flags override it.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Any other option, e.g. --set corruption_level=0.5 --set penalty=l1 (repeatable).")
@click.option("--resume", is_flag=True, help="Continue from MODEL/checkpoint after an interruption.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the HTML report (as `aekit report`) on the held-out rows to this file.")
@click.option("--stream/--no-stream", "stream", default=None,
              help="Read DATA (.npy or .parquet, numbers without gaps) a chunk at a time instead of loading "
                   "it: memory stays bounded for files of any size. Default: stream when the file is larger "
                   "than half the available memory. Example: aekit fit big.npy -o big-model --stream")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def fit(data: str, output: str, config_file: str | None, resume: bool, quiet: bool, limit: int | None,
        settings: tuple[str, ...], report_path: str | None, **flags: Any) -> None:
    """Train an autoencoder on DATA and save it to a model directory.

    DATA is a .npy/.npz/.csv file, a folder of images, IDX files or builtin:NAME
    (shapes12, digits, fashion-mnist, mnist, swissroll). The source's own test
    split (or a seeded 20 % of the rows) is held out and the test error is printed
    beside PCA's at the same code size.

    \b
    Example:
      aekit fit builtin:fashion-mnist -o fmnist-32 --code-dim 32
      aekit fit images/ -o faces --arch conv --code-dim 16 --epochs 30
      aekit fit builtin:digits -o den --variant denoising --set corruption_level=0.5
      aekit fit builtin:digits -o digits-vae --variant vae --code-dim 2 --report digits-vae.html
      aekit fit big-images.npy -o big-model --stream --epochs 5
      torchrun --nproc_per_node 4 -m aekit fit builtin:mnist -o mnist-32 --batch-size 1024

    Under torchrun each process trains on its shard of every batch (--batch-size is
    the global batch); rank 0 alone writes the checkpoint and the model and prints.
    """
    from aekit import distributed
    from aekit.data.stream import open_stream, should_stream
    from aekit.estimator import AutoEncoder
    from aekit.train import remove_checkpoint

    distributed.setup()  # joins torchrun's process group; a no-op outside torchrun
    quiet = quiet or not distributed.is_main()
    stream = flags.pop("stream")
    stream = should_stream(data) if stream is None else stream
    if stream and report_path is not None:
        raise ConfigError("--report loads DATA into memory; it cannot be combined with --stream (run `aekit "
                          "report MODEL DATA` on a sample of the rows instead)")

    if report_path is not None and Path(report_path).suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--report {report_path} must end in .html")  # before training, not after
    options = _read_toml(config_file)
    options.update(_parse_settings(settings))
    rename = {"seed": "random_state"}
    for key, value in flags.items():
        if value is not None:
            options[key] = value
    options = {rename.get(k, k): v for k, v in options.items()}
    try:
        est = AutoEncoder(**options)
    except TypeError as exc:
        raise ConfigError(f"unknown option in {config_file or 'flags'}: {exc}") from None
    with distributed.main_first():  # under torchrun one download fills the cache, not one per process
        ds = open_stream(data, limit=limit) if stream else _load_data(data, limit, missing="mask")
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
    est.save(model_dir, metrics=metrics, data=_data_record(ds, train, test, seed, limit))
    remove_checkpoint(model_dir / "checkpoint")
    _print_metrics(metrics, "held-out data")
    click.echo(f"trained in {seconds:.1f} s; model saved to {model_dir}")
    if report_path is not None:  # from the saved directory, so it equals `aekit report MODEL DATA`
        from aekit.report.html import write_report

        path = write_report(_load_model(str(model_dir)), ds, report_path)
        click.echo(f"report written to {path}")


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("data")
@click.option("-o", "--output", required=True, type=click.Path(), help="codes.npy or codes.csv")
def encode(model: str, data: str, output: str) -> None:
    """Write the deterministic code of every sample in DATA.

    A .npy or Parquet DATA is read, encoded and written a chunk at a time, so
    memory stays bounded for files of any size.

    \b
    Example:
      aekit encode digits-model builtin:digits -o codes.csv
      aekit encode big-model big-images.npy -o codes.npy
    """
    from aekit.data.stream import open_stream, streamable

    est = _load_model(model)
    if streamable(data) and Path(output).suffix.lower() in (".npy", ".csv"):
        from aekit.estimator_stream import encode_file

        n, shape = encode_file(est, open_stream(data), output)
        click.echo(f"wrote {n} codes of size {shape[0] if shape else 1} to {output}")
        return
    codes = est.transform(_load_data(data, missing="mask"))
    _write_array(codes, Path(output), [f"z{i}" for i in range(codes.shape[1])])
    click.echo(f"wrote {codes.shape[0]} codes of size {codes.shape[1]} to {output}")


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("codes", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(), help="out.npy, out.csv or out.png (images)")
def decode(model: str, codes: str, output: str) -> None:
    """Decode CODES (.npy or .csv, one code per row) back to samples.

    \b
    Example:
      aekit encode digits-model builtin:digits -o codes.npy
      aekit decode digits-model codes.npy -o decoded.png
    """
    est = _load_model(model)
    z = _load_data(codes).flat()
    out = est.inverse_transform(z)
    _write_output(out, Path(output), columns=_columns(est))
    click.echo(f"wrote {len(out)} decoded samples to {output}")


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("data")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="out.npy, out.csv or out.png (inputs above their reconstructions); tables: .csv or .parquet")
@click.option("--limit", type=int, default=None, help="Only the first N samples.")
@click.option("--all-cells", is_flag=True,
              help="Tables: write the reconstruction of every cell, not the input with its gaps filled.")
def reconstruct(model: str, data: str, output: str, limit: int | None, all_cells: bool) -> None:
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
    est = _load_model(model)
    ds = _load_data(data, limit, missing="mask")
    if getattr(est, "schema_", None) is not None and ds.frame is not None:
        _write_table(est, ds, Path(output), all_cells)
        return
    out = est.reconstruct(ds)
    _write_output(out, Path(output), images_above=ds.x, columns=_columns(est))
    click.echo(f"wrote {len(out)} reconstructions to {output} "
               f"(mean squared error {est.reconstruction_error(ds).mean():.5f})")


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("data")
@click.option("--split", type=click.Choice(["auto", "all"]), default="auto", show_default=True,
              help="auto: the source's test split, or the rows fit held out when DATA is the training data.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate(model: str, data: str, split: str, as_json: bool) -> None:
    """Reconstruction error on DATA beside PCA's at the same code size.

    \b
    Example:
      aekit evaluate digits-model builtin:digits
    """
    est = _load_model(model)
    ds = _load_data(data, missing="mask")
    part, where = ds.held_out(est.data_) if split == "auto" else (ds, f"all {len(ds)} rows")
    metrics = est.evaluate(part)
    if as_json:
        click.echo(json.dumps({**metrics, "rows": where}, indent=1))
    else:
        _print_metrics(metrics, where)


@main.command(context_settings=CONTEXT)
@click.option("-o", "--output", default="aekit-demo", show_default=True, type=click.Path(),
              help="Folder for the model directory and the PNG.")
@click.option("--data", default="builtin:digits", show_default=True, help="Any DATA spec.")
@click.option("--code-dim", type=int, default=8, show_default=True)
@click.option("--epochs", type=int, default=100, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True,
              help="Small batches: 1,438 digits give few steps per epoch otherwise.")
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
    from aekit.estimator import AutoEncoder
    from aekit.report.images import image_grid, save_png

    t0 = time.perf_counter()
    ds = _load_data(data)
    train, test = ds.split(test_size=0.2, seed=0)
    click.echo(f"aekit demo: {ds!r}")
    click.echo(f"training the default autoencoder (code size {code_dim}) on {len(train)} samples ...")
    est = AutoEncoder(code_dim=code_dim, epochs=epochs, batch_size=batch_size, random_state=0,
                      verbose=not quiet).fit(train)
    metrics = est.evaluate(test)
    metrics["train_seconds"] = time.perf_counter() - t0
    out = Path(output)
    model_dir = est.save(out / "model", metrics=metrics, data=_data_record(ds, train, test, 0))
    _print_metrics(metrics, "held-out data")
    if ds.kind == "image":
        png = save_png(image_grid([test.x[:16], est.reconstruct(test.subset(slice(0, 16)))],
                                  scale=max(1, 64 // ds.x.shape[-1])), out / "reconstructions.png")
        click.echo(f"inputs (top) and reconstructions (bottom): {png}")
    click.echo(f"model directory: {model_dir}  (try: aekit evaluate {model_dir} {data})")
    from aekit.report.html import write_report

    report = write_report(_load_model(str(model_dir)), ds, out / "report.html")  # the held-out rows, as fit --report
    click.echo(f"report (open it in a browser, works offline): {report}")
    click.echo(f"explore it in your browser: aekit explore {model_dir}  (prints the page's URL)")
    click.echo(f"done in {time.perf_counter() - t0:.1f} s")


def _write_table(est, ds, out: Path, all_cells: bool) -> None:
    """A table model's output for the table ``ds``: gaps filled (or every cell), label column kept."""
    from aekit._atomic import atomic_path, make_dir

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError(f"output {out} must end in .csv or .parquet for a table")
    features = ds.features()
    n_missing = int(features.isna().to_numpy().sum())
    table = est.reconstruct(features) if all_cells else est.impute(features)
    if ds.label_column is not None:  # back in its place, as read
        table.insert(list(ds.frame.columns).index(ds.label_column), ds.label_column, ds.frame[ds.label_column])
    make_dir(out.parent)
    with atomic_path(out) as tmp:
        if suffix == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    what = "every cell reconstructed" if all_cells else f"{n_missing} missing cells filled"
    click.echo(f"wrote {len(table)} rows to {out} ({what})")


def _columns(est) -> list[str] | None:
    return est.data_.get("columns") if hasattr(est, "data_") else None


@main.command(context_settings=CONTEXT)
@click.argument("model", required=False, type=click.Path())
@click.option("--data", default=None,
              help="Data set for the scatter and presets (default: the one MODEL was fitted on).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; anything but loopback exposes the page (a warning is printed).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the scatter's subsample.")
@click.option("--export", "export", type=click.Path(dir_okay=False), default=None,
              help="Write the page as one HTML file that runs without a server (MLP models), instead of serving it.")
def explore(model: str | None, data: str | None, host: str, port: int, seed: int, export: str | None) -> None:
    """Serve the interactive latent-space page and print its URL.

    Drag the orange dot through the latent plane and watch the decoder's output;
    click presets, draw an input or drop a PNG, hover the encoded data set,
    switch to the VAE's cloud. Without MODEL, a 2-D autoencoder and a 2-D VAE on
    builtin:shapes12 are trained in seconds (then cached). The page is served
    from 127.0.0.1 and works offline. With --export, the page is written to one
    file instead, the models mirrored in JavaScript, to open from disk or share.

    \b
    Example:
      aekit explore
      aekit explore digits-model --port 8765
      aekit explore digits-model --export digits.html
    """
    from aekit.explorer import export_page, open_session
    from aekit.explorer.server import serve

    session = open_session(model, data=data, seed=seed, log=click.echo)
    if export is not None:
        path = export_page(session, export)
        click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): open it in a browser, no server needed")
        return
    serve(session, host=host, port=port, echo=click.echo)


# The anomaly commands (detect, score) live in their own module; importing it registers them on `main`.
from aekit import cli_anomaly  # noqa: E402,F401
from aekit import cli_generate  # noqa: E402,F401
from aekit import cli_report  # noqa: E402,F401
from aekit import cli_sweep  # noqa: E402,F401
from aekit import cli_export  # noqa: E402,F401
