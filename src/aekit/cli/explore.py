"""``aekit explore``: the interactive latent-space page."""

from __future__ import annotations

import click

from aekit.cli.common import CONTEXT, main, trust_code_option


@main.command(context_settings=CONTEXT)
@click.argument("model", required=False, type=click.Path())
@click.option(
    "--data",
    default=None,
    help="Data set for the scatter and presets (default: the one MODEL records, if it is a builtin set or a "
    "file inside MODEL's folder).",
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
@click.option(
    "--token",
    default=None,
    help="The token the page and every request need (default: $AEKIT_EXPLORER_TOKEN, else a random one). "
    "Other users of this machine can read a command line; prefer the environment variable.",
)
@click.option(
    "--no-token",
    is_flag=True,
    help="Serve without a token: loopback only, and any program on this machine can then use the page.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests for this host name (e.g. the name a class types for a lab server); repeatable.",
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
    token: str | None,
    no_token: bool,
    allow_hosts: tuple[str, ...],
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

    Every address, loopback included, needs the token printed in the URL
    (http://127.0.0.1:PORT/?token=...); the first load keeps it in a cookie.
    A model folder may come from someone else: the data set it records is
    opened only if it is a builtin set or a file inside the folder; give any
    other with --data.

    \b
    Example:
      aekit explore
      aekit explore digits-model --port 8765
      aekit explore digits-model --host 0.0.0.0 --allow-host lab.example.org
      aekit explore digits-model --export digits.html
    """
    from aekit.explorer import export_page, open_session
    from aekit.explorer.auth import HostPolicy, choose_token
    from aekit.explorer.server import serve

    if export is None:  # a bad token, host name or --no-token off loopback fails before any model is loaded
        token = choose_token(token, no_token=no_token, host=host)
        no_token = token is None
        HostPolicy.for_bind(host, allow_hosts)
    session = open_session(model, data=data, seed=seed, log=click.echo, trust_code=list(trust_code))
    if export is not None:
        path = export_page(session, export)
        click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): open it in a browser, no server needed")
        return
    serve(session, host=host, port=port, echo=click.echo, token=token, no_token=no_token, allow_hosts=allow_hosts)
