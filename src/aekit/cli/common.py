"""The ``aekit`` command group and the helpers its command modules share.

Every subcommand has ``--help`` with an example.

Outputs are chosen by suffix (``.npy``, ``.csv``, ``.png``) and written
atomically: a failed command leaves no partial file behind.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from aekit.errors import AekitError, ConfigError, TrainingInterrupted

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
def load_data(spec: str, limit: int | None = None, missing: str = "error"):
    """``missing="mask"``: tables may have empty cells (the commands whose model masks and imputes them)."""
    from aekit import data

    return data.load(spec, limit=limit, missing=missing)


#: For every command that loads MODEL: the modules its own encoder/decoder may be imported from.
trust_code_option = click.option(
    "--trust-code",
    "trust_code",
    multiple=True,
    metavar="MODULE",
    help="Import MODULE (and modules under it) to rebuild a model made with your own encoder/decoder "
    "factories; repeatable. Without it such a model is refused and nothing is imported.",
)


def load_model(path: str, trust_code: tuple[str, ...] = ()):
    """The AutoEncoder in a model directory; ``trust_code``: modules its own networks may come from."""
    from aekit.estimators.autoencoder import AutoEncoder

    return AutoEncoder.load(path, trust_code=list(trust_code))


def write_array(array: np.ndarray, out: Path, columns: list[str] | None = None) -> None:
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


def write_output(
    array: np.ndarray, out: Path, *, images_above: np.ndarray | None = None, columns: list[str] | None = None
) -> None:
    """.npy / .csv via :func:`write_array`; .png as an image grid (inputs above, if given)."""
    if out.suffix.lower() == ".png":
        from aekit._atomic import make_dir
        from aekit.report.images import image_grid, save_png

        if array.ndim != 4:
            raise ConfigError(
                f"{out}: a PNG grid needs image samples; this data has shape {array.shape[1:]}, "
                "write .npy or .csv instead"
            )
        rows = [array[:64]] if images_above is None else [images_above[:32], array[:32]]
        make_dir(out.parent)
        save_png(image_grid(rows, scale=max(1, 96 // array.shape[-1])), out)
    else:
        write_array(array, out, columns)


def data_record(ds, train, test, split_seed: int, limit: int | None = None) -> dict[str, Any]:
    """What the model directory remembers of its data, so evaluate can find the held-out rows."""
    split = "source" if ds.is_test is not None and ds.is_test.any() else "random"
    return {
        "spec": ds.name,
        "n": len(ds),
        "limit": limit,
        "split": split,
        "test_size": 0.2,
        "split_seed": split_seed,
        "n_train": len(train),
        "n_test": len(test),
        "columns": ds.columns,
    }


def print_metrics(metrics: dict, where: str) -> None:
    k = metrics["code_dim"]
    gain = metrics["gain_vs_pca"]
    verdict = f"{gain:.0%} lower than PCA" if gain >= 0 else f"{-gain:.0%} HIGHER than PCA: PCA wins"
    click.echo(
        f"test error on {where} ({metrics['n_samples']} samples), code size {k} "
        f"({metrics['compression_ratio']:.1f}x compression):"
    )
    click.echo(f"  autoencoder MSE {metrics['mse']:.5f}")
    click.echo(f"  PCA-{k} MSE       {metrics['pca_mse']:.5f}")
    click.echo(f"  -> {verdict}")
    sparsity = metrics.get("code_sparsity")
    if sparsity:
        click.echo(
            f"  code: {sparsity['near_zero_share']:.0%} of units near zero, "
            f"mean |z| {sparsity['mean_abs_activation']:.3g}"
        )
    vq = metrics.get("vq")
    if vq:
        click.echo(
            f"  VQ: {vq['tokens_per_sample']} tokens per sample, codebook usage {vq['codebook_usage']:.0%}, "
            f"perplexity {vq['perplexity']:.0f}"
        )
    vae = metrics.get("vae")
    if vae:
        click.echo(
            f"  VAE: ELBO {vae['elbo']:.2f} nats, importance-weighted bound (k={vae['iw_k']}) "
            f"{vae['iw_bound']:.2f}, KL {vae['kl']:.2f}, active units {vae['active_units']}/{k}"
        )


def parse_settings(settings: tuple[str, ...]) -> dict[str, Any]:
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


def read_toml(path: str | None) -> dict[str, Any]:
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
        if isinstance(value, dict) and key in ("model", "train", "data"):
            flat.update(value)
        else:
            flat[key] = value
    return {k.replace("-", "_"): v for k, v in flat.items()}


def write_table(est, ds, out: Path, all_cells: bool) -> None:
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


def columns_of(est) -> list[str] | None:
    return est.data_.get("columns") if hasattr(est, "data_") else None
