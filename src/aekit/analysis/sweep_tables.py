"""A sweep's results as files: ``sweep.md`` (a table with its caption), ``sweep.csv`` and
``sweep.png`` (error against code size, PCA beside every model)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from aekit._atomic import atomic_write_text, make_dir

COLUMNS = (
    ("variant", "variant", "variant"),
    ("code_dim", "code size", "code_dim"),
    ("compression_ratio", "compression", "compression_ratio"),
    ("mse", "test MSE", "test_mse"),
    ("pca_mse", "PCA test MSE", "pca_test_mse"),
    ("gain_vs_pca", "gain vs PCA", "gain_vs_pca"),
    ("train_seconds", "train s", "train_seconds"),
)


def write_outputs(rows: list[dict[str, Any]], out_dir: str | Path, settings: dict[str, Any] | None = None) -> None:
    """Write ``sweep.md``, ``sweep.csv`` and ``sweep.png`` for ``rows`` into ``out_dir``, atomically."""
    from aekit.report.sweep_plot import error_vs_code_size, save_png

    out = Path(out_dir)
    make_dir(out)
    atomic_write_text(out / "sweep.md", markdown_table(rows, settings))
    atomic_write_text(out / "sweep.csv", csv_table(rows))
    title = f"autoencoders vs PCA on {settings['data']['spec']}" if settings else None
    save_png(error_vs_code_size(rows, title=title), out / "sweep.png")


def markdown_table(rows: list[dict[str, Any]], settings: dict[str, Any] | None = None) -> str:
    """The sweep as a Markdown table (one row per model, PCA's error beside it), with a caption.

    Examples
    --------
    >>> row = {"variant": "plain", "code_dim": 8, "compression_ratio": 8.0, "mse": 0.011, "pca_mse": 0.02,
    ...        "gain_vs_pca": 0.45, "train_seconds": 1.25}
    >>> print(markdown_table([row]).splitlines()[-1])
    | plain | 8 | 8.0x | 0.011 | 0.02 | +45.0 % | 1.2 |
    """
    lines = []
    if settings is not None:
        d = settings["data"]
        split = (
            "the source's own test split"
            if d["split"] == "source"
            else f"a seeded {d['test_size']:.0%} split, seed {settings['seed']}"
        )
        lines += [
            f"# aekit sweep: {d['spec']}",
            "",
            f"{d['n_train']} training rows, {d['n_test']} held-out rows ({split}), {d['n_features']} features; "
            f"{settings['epochs']} epochs per model.",
            "Test MSE is the mean squared error per feature on the held-out rows; PCA has as many "
            "components as the code size and is fitted on the same training rows. "
            "Gain vs PCA = 1 - MSE / PCA MSE (positive: the autoencoder wins).",
            "",
        ]
    lines.append("| " + " | ".join(heading for _, heading, _ in COLUMNS) + " |")
    lines.append("|---|" + "---:|" * (len(COLUMNS) - 1))
    for row in rows:
        # A code as wide as the input: PCA keeps everything, so a ratio to its (rounding) error means nothing.
        gain = "n/a (PCA exact)" if row["compression_ratio"] <= 1 else _percent(row["gain_vs_pca"])
        cells = [
            str(row["variant"]),
            str(row["code_dim"]),
            f"{row['compression_ratio']:.1f}x",
            f"{row['mse']:.4g}",
            f"{row['pca_mse']:.4g}",
            gain,
            f"{row['train_seconds']:.1f}" if row["train_seconds"] >= 1 else f"{row['train_seconds']:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def csv_table(rows: list[dict[str, Any]]) -> str:
    """The sweep as CSV: ``variant,code_dim,compression_ratio,test_mse,pca_test_mse,gain_vs_pca,train_seconds``.

    Examples
    --------
    >>> row = {"variant": "vae", "code_dim": 2, "compression_ratio": 32.0, "mse": 0.05, "pca_mse": 0.052,
    ...        "gain_vs_pca": 0.0384615, "train_seconds": 3.0}
    >>> print(csv_table([row]), end="")
    variant,code_dim,compression_ratio,test_mse,pca_test_mse,gain_vs_pca,train_seconds
    vae,2,32,0.05,0.052,0.0384615,3
    """
    lines = [",".join(column for _, _, column in COLUMNS)]
    for row in rows:
        lines.append(
            ",".join(str(row[key]) if key in ("variant", "code_dim") else f"{row[key]:.7g}" for key, _, _ in COLUMNS)
        )
    return "\n".join(lines) + "\n"


# -- validation -----------------------------------------------------------------------


def _percent(gain: float) -> str:
    return "n/a" if not math.isfinite(gain) else f"{gain:+.1%}".replace("%", " %")
