"""``aekit report``: the self-contained HTML report of a model directory.

Registered on :data:`aekit.cli.main` when that module is imported (it imports
this one last), so it shares its error handling and help layout.
"""

from __future__ import annotations

from pathlib import Path

import click

from aekit.cli.common import CONTEXT, load_data, load_model, main, trust_code_option


def load_reported_model(path: str, trust_code: tuple[str, ...] = ()):
    """A model directory as the report wants it: an AnomalyDetector when the directory
    holds one (its scores and threshold join the error histogram), else an AutoEncoder."""
    from aekit.estimators.anomaly import DETECTOR_FILE, AnomalyDetector
    from aekit.estimators.series_files import is_series_detector

    if is_series_detector(path):  # one recording's detector (aekit detect-series)
        from aekit.estimators.series import SeriesAnomalyDetector

        return SeriesAnomalyDetector.load(path, trust_code=list(trust_code))
    if (Path(path) / DETECTOR_FILE).is_file():
        return AnomalyDetector.load(path, trust_code=list(trust_code))
    return load_model(path, trust_code)


def load_report_data(est, data: str):
    """DATA for the report; a model ``aekit fit`` trained with ``--limit`` on this same
    spec gets the same first rows again, so its held-out rows can be found."""
    if hasattr(est, "window_"):  # a series detector reports one recording, with its labels
        from aekit.cli.series import labelled_series

        return labelled_series(data)
    ae = getattr(est, "autoencoder_", est)
    record = getattr(ae, "data_", None) or {}
    limit = record.get("limit") if record.get("spec") == data else None
    return load_data(data, limit, missing="mask")


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.argument("data")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="report.html to write.")
@click.option("--title", default=None, help="Page title (default: variant, code size and data).")
@click.option(
    "--split",
    type=click.Choice(["auto", "all"]),
    default="auto",
    show_default=True,
    help="auto: the source's test split, or the rows fit held out when DATA is the training data.",
)
@click.option(
    "--holes-reference",
    "reference",
    type=click.Path(),
    default=None,
    help="A second model directory on the same data (a plain model beside a VAE, or the reverse): "
    "adds prior draws decoded by both.",
)
@trust_code_option
def report(
    model: str,
    data: str,
    output: str,
    title: str | None,
    split: str,
    reference: str | None,
    trust_code: tuple[str, ...],
) -> None:
    """Write one self-contained HTML page about MODEL on DATA.

    The page holds the model card (variant, sizes, parameters, training time and
    data), the test metrics beside PCA's at the same code size, and the figures
    that apply to the model and data: loss curves, reconstructions, the latent
    codes, the decoded latent plane, interpolation, prior samples and KL per
    dimension (VAE), codebook usage (VQ), and the error histogram (with the
    threshold, for an anomaly detector). Every image is inline: the file opens
    from disk in a browser with no network.

    \b
    Example:
      aekit fit builtin:digits -o digits-vae --variant vae --code-dim 2 --epochs 30
      aekit report digits-vae builtin:digits -o digits-vae.html
      aekit fit builtin:digits -o digits-ae --code-dim 2 --epochs 30 --report digits-ae.html
    """
    from aekit.report.html import write_report

    est = load_reported_model(model, trust_code)
    ds = load_report_data(est, data)
    other = load_model(reference, trust_code) if reference is not None else None
    path = write_report(est, ds, output, title=title, holes_reference=other, split=split)
    click.echo(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB): open it in a browser, no network needed")
