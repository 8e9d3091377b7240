"""The explorer: an interactive page that decodes the latent plane as you drag through it.

``aekit explore [MODEL]`` builds a :class:`Session` (named fitted models plus a
data set) with :func:`open_session` and serves it with
:func:`aekit.explorer.server.serve` on 127.0.0.1; ``--export page.html`` writes
it instead as one self-contained file with :func:`export_page`. Without a model it uses
:func:`default_models`: a 2-D plain autoencoder and a 2-D VAE on
``builtin:shapes12``, trained in seconds once and then loaded from the cache.

The page (``static/``) is plain JavaScript and canvas: no build step, no CDN,
no request leaves the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aekit.data import Dataset
from aekit.errors import AekitError, ConfigError, ModelFileError
from aekit.estimators.autoencoder import AutoEncoder
from aekit.explorer.session import RequestError, Session

__all__ = [
    "DEFAULT_DATA",
    "DEFAULT_VARIANTS",
    "RequestError",
    "Session",
    "default_models",
    "export_page",
    "open_session",
]

#: Data points (codes and samples) an exported page carries by default: enough for the scatter, and
#: a few hundred kilobytes of 28x28 images.
EXPORT_POINTS = 600

#: The data set of the default models: small images of six shape classes, each drawn at a varied
#: position, size, tilt and stroke. 10,000 images (8,000 to train on) let a 2-D code learn the
#: classes rather than the samples; 3,000 left the classes crowded (BENCHMARKS.md, "Explorer lesson").
DEFAULT_DATA = "builtin:shapes12?n=10000"
#: Default model names and their variants: the VAE toggle switches between them.
DEFAULT_VARIANTS = {"ae": "plain", "vae": "vae"}
#: Hidden widths of both default models: room for six regions of the plane, and light enough to
#: embed in a page (about 54,000 weights, 0.29 MB as base64, per model).
DEFAULT_HIDDEN = (128, 64)


def default_models(
    *,
    data: str = DEFAULT_DATA,
    code_dim: int = 2,
    hidden: tuple[int, ...] = DEFAULT_HIDDEN,
    epochs: int = 50,
    batch_size: int = 128,
    seed: int = 0,
    cache: str | Path | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[dict[str, AutoEncoder], Dataset]:
    """Train, or load from the cache, the default models: a plain autoencoder and a VAE.

    Each model is trained on the data set's training split and cached under
    ``cache / "<name>-<key>"``, the key hashing the aekit version and every setting
    here, so a new version or setting trains afresh. A cached model that no longer
    loads is trained again.

    Parameters
    ----------
    data : str, default "builtin:shapes12?n=10000"
        Data spec (see :func:`aekit.data.load`).
    code_dim : int, default 2
        Code size of both models; 2 fills the latent plane exactly.
    hidden : tuple of int, default (128, 64)
        Hidden widths of both models' encoders (the decoders mirror them).
    epochs, batch_size, seed : int
        Training settings (BENCHMARKS.md, "Explorer lesson", times the first open).
    cache : path, optional
        Cache folder; ``aekit.data.download.cache_dir() / "explorer"`` by default.
    log : callable, optional
        Called with one line per model trained or loaded.

    Returns
    -------
    models : dict of str to AutoEncoder
        ``{"ae": plain, "vae": vae}``, fitted.
    dataset : aekit.data.Dataset
        All of ``data`` (training and test rows).
    """

    from aekit._version import __version__
    from aekit.data import cache_dir
    from aekit.data import load as load_data

    folder = Path(cache) if cache is not None else cache_dir() / "explorer"
    dataset = load_data(data)
    models = {}
    for name, variant in DEFAULT_VARIANTS.items():
        settings = {
            "aekit": __version__,
            "data": data,
            "variant": variant,
            "code_dim": code_dim,
            "hidden": list(hidden),
            "epochs": epochs,
            "batch_size": batch_size,
            "seed": seed,
        }
        key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
        path = folder / f"{name}-{key}"
        est = None
        if path.is_dir():
            try:
                est = AutoEncoder.load(path)
                _say(log, f"{name}: loaded the cached {variant} model from {path}")
            except ModelFileError as exc:
                _say(log, f"{name}: the cached model at {path} does not load ({exc}); training it again")
        if est is None:
            _say(log, f"{name}: training a {code_dim}-D {variant} model on {data} ({epochs} epochs) ...")
            est = AutoEncoder(
                code_dim=code_dim,
                variant=variant,
                hidden=tuple(hidden),
                epochs=epochs,
                batch_size=batch_size,
                random_state=seed,
            ).fit(dataset.train())
            _save_atomically(est, path)
            _say(log, f"{name}: cached in {path}")
        models[name] = est
    return models, dataset


def open_session(
    model: str | Path | None = None,
    *,
    data: str | None = None,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
    trust_code: Any = None,
) -> Session:
    """The session ``aekit explore`` serves.

    Parameters
    ----------
    model : path, optional
        A model directory. Without one, :func:`default_models` provides ``"ae"`` and
        ``"vae"``.
    data : str, optional
        Data spec for the scatter and presets; by default the one the model
        directory records (``aekit fit`` records it) if it is a builtin set or a
        path inside the directory (:func:`aekit.explorer.trust.recorded_data_spec`),
        else shapes12 for the default models.
    seed : int, default 0
        Seed of the scatter's subsample.
    log : callable, optional
        Receives progress lines.
    trust_code : iterable of str, optional
        Modules a model built with its own encoder/decoder may import (see
        :func:`aekit.load`); by default none.

    Returns
    -------
    Session
        Model names ``"ae"`` and ``"vae"`` by default; otherwise the model
        directory's name (cleaned to letters, digits, ``_`` and ``-``).

    Raises
    ------
    ConfigError
        A model directory that records no data set, or one outside the directory,
        with no ``data`` given.
    """

    from aekit.data import load as load_data

    if model is None:
        models, dataset = default_models(data=data or DEFAULT_DATA, seed=seed, log=log)
        return Session(models, dataset, seed=seed)
    est = AutoEncoder.load(model, trust_code=trust_code)
    spec = data or est.data_.get("spec")
    if not spec:
        raise ConfigError(f"model {model} records no data set; pass one, e.g. --data builtin:digits")
    if data is None:  # the folder's record is data, not an instruction (aekit.explorer.trust)
        from aekit.explorer.trust import recorded_data_spec

        spec = recorded_data_spec(model, str(spec))
    dataset = load_data(spec)
    name = "".join(c if c.isalnum() or c in "_-" else "-" for c in Path(model).resolve().name)[:32] or "model"
    try:
        return Session({name: est}, dataset, seed=seed)
    except AekitError as exc:
        raise ConfigError(f"{exc}; pass the data set the model was trained on with --data") from None


def export_page(session: Session, out_path: str | Path, *, max_points: int = EXPORT_POINTS) -> Path:
    """Write the explorer page for ``session`` as one file that runs without a server.

    The page is ``static/index.html`` with its scripts and styles inlined
    (:func:`aekit.explorer.export.write_standalone_page`) and a JSON payload:
    each model's :func:`~aekit.explorer.export.model_spec` (decoded and encoded in
    the browser by ``decoder.js``), the page's meta data and presets, and the
    first ``max_points`` rows of the session's seeded subsample (samples as
    base64 float32, labels), whose codes the page computes itself. It opens from
    ``file://`` and makes no request.

    Parameters
    ----------
    session : Session
        The models and data the page shows.
    out_path : path
        Where the page goes (written atomically).
    max_points : int, default 600
        Data points in the scatter and the hover, at most the session's.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    ConfigError
        A model with no JavaScript mirror (a conv model), naming the model.
    """
    from aekit.explorer.export import STATIC_DIR, page_payload, write_standalone_page

    payload = page_payload(session, max_points)
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return write_standalone_page(html, payload, out_path, extra_scripts=("decoder.js",))


def _save_atomically(est: AutoEncoder, path: Path) -> None:
    """Write into a sibling temporary folder, then rename it: a cache entry is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    est.save(tmp)
    shutil.rmtree(path, ignore_errors=True)  # a stale entry that did not load
    try:
        os.replace(tmp, path)
    except OSError:  # another process cached the same model meanwhile: theirs is as good
        shutil.rmtree(tmp, ignore_errors=True)


def _say(log: Callable[[str], None] | None, line: str) -> None:
    if log is not None:
        log(line)
