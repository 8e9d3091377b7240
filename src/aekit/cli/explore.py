"""``aekit explore``: the interactive latent-space page."""

from __future__ import annotations

import click

from aekit.cli.common import CONTEXT, main, trust_code_option


@main.command(context_settings=CONTEXT)
@click.argument("model", required=False, type=click.Path())
@click.option(
    "--data", default=None, help="Data set for the scatter and presets (default: the one MODEL was fitted on)."
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on; anything but loopback exposes the page (a warning is printed).",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port to listen on; 0 picks a free one."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the scatter's subsample.")
@click.option(
    "--export",
    "export",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the page as one HTML file that runs without a server (MLP models), instead of serving it.",
)
@trust_code_option
def explore(
    model: str | None,
    data: str | None,
    host: str,
    port: int,
    seed: int,
    export: str | None,
    trust_code: tuple[str, ...],
) -> None:
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

    session = open_session(model, data=data, seed=seed, log=click.echo, trust_code=list(trust_code))
    if export is not None:
        path = export_page(session, export)
        click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): open it in a browser, no server needed")
        return
    serve(session, host=host, port=port, echo=click.echo)
