"""``aekit denoise``, ``aekit sample`` and ``aekit interpolate``: making data with a model.

Registered on :data:`aekit.cli.main` when that module is imported (it imports
this one last), so they share its error handling and help layout.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from aekit.cli.common import CONTEXT, columns_of, load_data, load_model, main, trust_code_option, write_output
from aekit.errors import ConfigError


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("data")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="out.npy, out.csv or out.png (the inputs, noisy if --noise, above their denoised versions)",
)
@click.option(
    "--noise",
    type=float,
    default=None,
    help="Add Gaussian noise of this sigma first, to see the effect (pixel units for images, "
    "standard deviations of each column for tables).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --noise draw.")
@click.option("--limit", type=int, default=None, help="Only the first N samples.")
@trust_code_option
def denoise(
    model: str, data: str, output: str, noise: float | None, seed: int, limit: int | None, trust_code: tuple[str, ...]
) -> None:
    """Clean the samples of DATA with a model trained as a denoiser.

    Train the model with --variant denoising (Gaussian noise on the training input,
    clean target). With --noise, noise is added first and the squared error to the
    clean data is printed before and after denoising.

    \b
    Example:
      aekit fit builtin:digits -o den --variant denoising --set corruption_level=0.5
      aekit denoise den builtin:digits -o denoised.png --noise 0.4 --limit 32
      aekit denoise den noisy-scans/ -o clean.npy
    """
    est = load_model(model, trust_code)
    ds = load_data(data, limit)
    clean = x = _samples(est, ds)
    if noise is not None:
        if not noise >= 0:
            raise ConfigError(f"--noise={noise} must be a standard deviation >= 0")
        x = _add_noise(est, x, noise, seed)
    out = est.denoise(x)
    _write_samples(est, out, Path(output), images_above=x)
    click.echo(f"wrote {len(out)} denoised samples to {output}")
    if noise is not None:
        # In the units the model sees (standardised columns for tables), as reconstruction errors are.
        scaled = est.preprocessing_.transform
        target = scaled(clean.reshape(len(x), -1))
        before = float(((scaled(x.reshape(len(x), -1)) - target) ** 2).mean())
        after = float(((scaled(out.reshape(len(x), -1)) - target) ** 2).mean())
        click.echo(
            f"mean squared error to the clean data: noisy {before:.5f}, denoised {after:.5f} "
            f"({10 * np.log10(before / after) if after > 0 else float('inf'):+.1f} dB)"
        )
    if est.model_.config.corruption is None:
        click.echo(
            f"note: {model} was trained without corruption (variant {est.model_.config.variant!r}); "
            "a model fitted with --variant denoising removes more noise"
        )


def _samples(est, ds) -> np.ndarray:
    """``ds`` as the model's input array: a table read from a file is encoded by the
    model's own schema (its columns and categories), anything else is ``ds.x``."""
    if getattr(est, "schema_", None) is not None and getattr(ds, "frame", None) is not None:
        return est._encode_table(ds.features(), ds.name)
    return ds.x


def _write_samples(est, array: np.ndarray, out: Path, images_above: np.ndarray | None = None) -> None:
    """Like :func:`write_output`; a model fitted on a named table writes its rows back as that
    table (.csv or .parquet: the columns as read, the most likely category of each group)."""
    if getattr(est, "schema_", None) is not None and out.suffix.lower() in (".csv", ".parquet"):
        from aekit._atomic import atomic_path

        table = est.schema_.decode(array.reshape(len(array), -1))
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            if out.suffix.lower() == ".csv":
                table.to_csv(tmp, index=False)
            else:
                table.to_parquet(tmp, index=False)
    else:
        write_output(array, out, images_above=images_above, columns=columns_of(est))


def _add_noise(est, x: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """``x`` plus Gaussian noise, kept inside an image model's value range."""
    noise = np.random.default_rng(seed).normal(0.0, sigma, x.shape)
    scale = est.preprocessing_.scale
    if scale is not None and x.ndim == 2:
        noise = noise * scale  # tables: sigma in standard deviations of each column
    noisy = (x + noise).astype(np.float32)
    limits = est.model_.config.output_range
    if limits is not None:
        noisy = np.clip(noisy, *limits)  # noisy pictures are still pictures
    return noisy


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.option("-n", "n", type=click.IntRange(min=1), default=64, show_default=True, help="Number of samples.")
@click.option("-o", "--output", required=True, type=click.Path(), help="grid.png, samples.npy or samples.csv")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the prior draws.")
@trust_code_option
def sample(model: str, n: int, output: str, seed: int, trust_code: tuple[str, ...]) -> None:
    """Decode N draws from the prior N(0, I) of a VAE.

    Needs a model with a prior: --variant vae or beta_vae (a Gaussian bottleneck).
    A PNG holds up to 64 samples, 16 to a row.

    \b
    Example:
      aekit fit builtin:digits -o digits-vae --variant vae --code-dim 8 --epochs 30
      aekit sample digits-vae -n 64 -o grid.png
      aekit sample digits-vae -n 1000 -o samples.npy --seed 1
    """
    est = load_model(model, trust_code)
    out = est.sample(n, random_state=seed)
    _write_samples(est, out, Path(output))
    click.echo(f"wrote {len(out)} samples from the prior to {output}")


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("data")
@click.option("--from", "start", type=int, required=True, help="Index of the first sample in DATA.")
@click.option("--to", "end", type=int, required=True, help="Index of the last sample in DATA.")
@click.option(
    "--steps", type=click.IntRange(min=2), default=10, show_default=True, help="Points on the path, both ends included."
)
@click.option(
    "--method",
    type=click.Choice(["auto", "linear", "slerp"]),
    default="auto",
    show_default=True,
    help="Path between the codes; auto: slerp for a VAE's Gaussian codes, else linear.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="strip.png (decoded path above the pixel crossfade), path.npy or path.csv",
)
@trust_code_option
def interpolate(
    model: str, data: str, start: int, end: int, steps: int, method: str, output: str, trust_code: tuple[str, ...]
) -> None:
    """Decode a path between the codes of two samples of DATA.

    The PNG shows two rows: the decoded path from sample FROM to sample TO above a
    plain crossfade of their pixels, so what the code adds shows. A .npy or .csv
    holds the decoded path only, one row per step.

    \b
    Example:
      aekit interpolate digits-vae builtin:digits --from 0 --to 7 --steps 10 -o strip.png
      aekit interpolate digits-model builtin:digits --from 3 --to 5 --method linear -o path.npy
    """
    est = load_model(model, trust_code)
    ds = load_data(data)
    for name, index in (("--from", start), ("--to", end)):
        if not 0 <= index < len(ds):
            raise ConfigError(
                f"{name} {index} is not a sample of {data}: it holds {len(ds)} samples, indices 0 to {len(ds) - 1}"
            )
    x = _samples(est, ds)
    a, b = x[start], x[end]
    path = est.interpolate(a, b, steps=steps, method=method)
    out = Path(output)
    if out.suffix.lower() == ".png":
        from aekit.report.images import image_grid, save_png

        if path.ndim != 4:
            raise ConfigError(
                f"{out}: an image strip needs image samples; this model's samples have shape "
                f"{path.shape[1:]}, write .npy or .csv instead"
            )
        fade = est.crossfade(a, b, steps=steps)
        out.parent.mkdir(parents=True, exist_ok=True)
        save_png(image_grid([path, fade], scale=max(1, 96 // path.shape[-1]), max_cols=steps), out)
    else:
        _write_samples(est, path, out)
    chosen = method if method != "auto" else ("slerp" if est.model_.capabilities.can_sample else "linear")
    click.echo(f"wrote a {steps}-step {chosen} path from sample {start} to sample {end} to {output}")
