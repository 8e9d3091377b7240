"""``aekit export``: a trained model as ONNX graphs for ONNX Runtime and other runtimes.

Registered on :data:`aekit.cli.main` when that module is imported (it imports
this one last), so it shares its error handling and help layout. The work is
done by :func:`aekit.estimators.onnx.export_onnx`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from aekit.cli.common import CONTEXT, load_model, main, trust_code_option


@main.command(name="export", context_settings=CONTEXT)
@click.argument("model", type=click.Path())
@click.option(
    "--format",
    "format_",
    default="onnx",
    show_default=True,
    metavar="FORMAT",
    help="Output format; onnx is the one there is.",
)
@click.option("-o", "--output", type=click.Path(), default=None, help="Folder for the graphs (default MODEL/onnx).")
@click.option("--opset", type=int, default=None, help="ONNX opset, 18 or newer (default: the exporter's).")
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Run the graphs in ONNX Runtime (if installed) on random inputs and compare with PyTorch.",
)
@trust_code_option
def export(
    model: str, format_: str, output: str | None, opset: int | None, check: bool, trust_code: tuple[str, ...]
) -> None:
    """Write MODEL's encoder, decoder and scorer as ONNX graphs, plus export.json.

    encoder.onnx maps x (batch, *input_shape) to the deterministic code (batch,
    code_dim) (a VQ model's also to its codebook indices), decoder.onnx maps a code
    back to x_hat, scorer.onnx maps x to its reconstruction error per sample. The
    batch axis is dynamic. Inputs and outputs are in your data's units: the
    model's input scaling is inside the graphs. export.json lists names, shapes
    and the model's variant. Needs the onnx extra: pip install aekit[onnx].

    \b
    Example:
      aekit fit builtin:digits -o digits-model --code-dim 8
      aekit export digits-model --format onnx
      aekit export digits-model --format onnx -o deploy/digits --opset 18
    """
    from aekit.estimators.onnx import check_format, check_onnx, export_onnx

    check_format(format_)
    est = load_model(model, trust_code)
    out = Path(output) if output is not None else Path(model) / "onnx"
    paths = export_onnx(est, out, opset=opset)
    for path in paths.values():
        click.echo(f"wrote {path}")
    if not check:
        return
    if importlib.util.find_spec("onnxruntime") is None:
        click.echo("onnxruntime is not installed: the graphs were not checked (pip install aekit[onnx])")
        return
    diffs = check_onnx(est, paths)
    summary = ", ".join(f"{name} {value:.2g}" for name, value in diffs.items())
    click.echo(f"ONNX Runtime vs PyTorch on 16 random inputs, largest absolute difference: {summary}")
