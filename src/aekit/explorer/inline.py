"""The explorer inline in a notebook: ``aekit.explore()`` and ``AutoEncoder.explore()``.

:func:`explore` returns an :class:`InlineExplorer`, whose ``_repr_html_`` is the
explorer page of :func:`aekit.explorer.export_page` (the decoder's weights embedded,
decoding done in the page's JavaScript by ``decoder.js``) inside an ``<iframe
srcdoc=...>``. The iframe gives every explorer its own document, so several in one
notebook never share an element id or a global, and the notebook saved as HTML keeps
working offline: there is no server, no CDN, and the page makes no request at all.
"""

from __future__ import annotations

import html as html_lib
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aekit.data import Dataset
from aekit.errors import ConfigError
from aekit.estimators.autoencoder import AutoEncoder
from aekit.explorer.session import Session

__all__ = ["INLINE_POINTS", "InlineExplorer", "explore", "explorer_html"]

#: Data points an inline explorer carries: the scatter and the tour's codes, about 330 kB of
#: 12x12 samples in base64 (the weights of the default models are another 560 kB).
INLINE_POINTS = 400
#: The iframe's height before the page reports its own (the page with the tour below the figure).
INITIAL_HEIGHT = 1100


class InlineExplorer:
    """The explorer page for a notebook cell: displayed inline, or saved as one HTML file.

    Parameters
    ----------
    page : str
        The standalone page (from :func:`explorer_html`).
    title : str
        What the page shows, for ``repr`` and the iframe's title.

    Attributes
    ----------
    page : str
        The whole page: open it from disk, or display it with ``_repr_html_``.
    nbytes : int
        Size of the page in UTF-8 bytes.

    Examples
    --------
    >>> import aekit
    >>> ds = aekit.data.load("builtin:shapes12?n=120")
    >>> ae = aekit.AutoEncoder(code_dim=2, epochs=1, hidden=(16,)).fit(ds)
    >>> view = explore(ae, ds)
    >>> out = view._repr_html_()
    >>> out.startswith("<div class="), "srcdoc=" in out, 'id="aekit-data"' in view.page
    (True, True, True)
    """

    def __init__(self, page: str, title: str):
        self.page = page
        self.title = title
        self.nbytes = len(page.encode("utf-8"))

    def _repr_html_(self) -> str:
        """The page in an ``<iframe srcdoc>`` that takes the page's height, with a unique id."""
        frame = f"aekit-explorer-{uuid.uuid4().hex[:12]}"
        # The page reports its height (static/inline.js): directly through frameElement when
        # the notebook shares its origin, else by postMessage to this listener.
        listener = (
            "(function(){var f=document.getElementById('" + frame + "');if(!f)return;"
            "window.addEventListener('message',function(e){if(e.source===f.contentWindow&&e.data&&"
            "e.data.aekitExplorerHeight>0){f.style.height=Math.ceil(e.data.aekitExplorerHeight)+'px';}});})();"
        )
        return (
            f'<div class="aekit-explorer" id="{frame}-box">'
            f'<iframe id="{frame}" title="{html_lib.escape(self.title)}" '
            f'style="width:100%;height:{INITIAL_HEIGHT}px;border:0;display:block" '
            f'srcdoc="{_attribute(self.page)}"></iframe>'
            f"<script>{listener}</script></div>"
        )

    def save(self, path: str | Path) -> Path:
        """Write the page as one HTML file (atomically) and return its path."""
        from aekit._atomic import atomic_write_text

        out = Path(path)
        atomic_write_text(out, self.page)
        return out

    def __repr__(self) -> str:
        return f"<aekit explorer: {self.title}, {self.nbytes / 1e6:.2f} MB; display it in a notebook or .save(path)>"


def explorer_html(session: Session, *, dims: Sequence[int] | None = None, max_points: int = INLINE_POINTS) -> str:
    """The explorer page for ``session`` as one string that runs without a server.

    Parameters
    ----------
    session : Session
    dims : pair of int, optional
        The code dimensions the plane opens on (the page's "plane x" and "plane y").
    max_points : int, default 400
        Data points the page carries.

    Returns
    -------
    str
        The page (``static/index.html`` with its scripts, styles and payload inlined).
    """
    from aekit.explorer.export import STATIC_DIR, page_payload, write_standalone_page

    view = None if dims is None else {"dims": [int(d) for d in dims]}
    payload = page_payload(session, max_points, view=view)
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="aekit-inline-") as folder:
        path = write_standalone_page(
            template, payload, Path(folder) / "page.html", extra_scripts=("decoder.js", "inline.js")
        )
        return path.read_text(encoding="utf-8")


def explore(
    model: Any = None,
    X: Any = None,
    *,
    y: Any = None,
    dims: Sequence[int] = (0, 1),
    max_points: int = INLINE_POINTS,
    seed: int = 0,
    trust_code: Any = None,
    log: Callable[[str], None] | None = None,
) -> InlineExplorer:
    """The explorer for a notebook: drag through the latent plane of ``model`` inline.

    Parameters
    ----------
    model : AutoEncoder, path, mapping of str to AutoEncoder, or None
        A fitted model, a model directory, or named models (a deterministic and a
        stochastic one share the page's VAE toggle). None: the default 2-D
        autoencoder and VAE of ``aekit explore``, trained once and then cached
        (:func:`aekit.explorer.default_models`).
    X : Dataset, array, data spec or None
        The data behind the scatter and the presets: an :class:`aekit.data.Dataset`,
        samples of shape (n, *sample_shape) or flat (n, n_features), or a spec such as
        ``"builtin:digits"``. None: the data set the model records (``aekit fit`` and
        ``save(data=...)`` record one), or shapes12 for the default models.
    y : array of int, shape (n,), optional
        Labels of ``X`` when it is an array: they colour the scatter and give presets.
    dims : pair of int, default (0, 1)
        The code dimensions the plane shows first (a model with a wider code gets
        sliders for the others).
    max_points : int, default 400
        Data points the page carries.
    seed : int, default 0
        Seed of the data subsample.
    trust_code : iterable of str, optional
        Modules a model directory with its own networks may import (see :func:`aekit.load`).
    log : callable, optional
        Receives progress lines (training or loading the default models).

    Returns
    -------
    InlineExplorer
        Displayed as the cell's output; ``.save("page.html")`` writes it as one file.

    Raises
    ------
    ConfigError
        A model whose code is narrower than 2, bad ``dims``, a model with no
        JavaScript mirror (conv), no data to show, or data of the wrong size.

    Examples
    --------
    >>> import aekit
    >>> ds = aekit.data.load("builtin:shapes12?n=120")
    >>> ae = aekit.AutoEncoder(code_dim=3, epochs=1, hidden=(16,)).fit(ds)
    >>> explore(ae, ds.x, y=ds.y, dims=(0, 2)).title
    'model: 3-D plain on 120 samples of X, dims 0 and 2'
    >>> explore(ae, ds, dims=(0, 3))
    Traceback (most recent call last):
    ...
    aekit.errors.ConfigError: dims=(0, 3) must be two different code dimensions in [0, 2] (code_dim=3)
    """
    from aekit.explorer import default_models

    if model is None:
        if X is not None:
            raise ConfigError("X is for your own model; the default models show shapes12: call explore() alone")
        models, dataset = default_models(seed=0, log=log)
    else:
        models = _models(model, trust_code)
        dataset = _dataset(models, X, y)
    dims = _check_dims(models, dims)
    session = Session(models, dataset, max_points=max(int(max_points), 1), seed=seed)
    kinds = " and ".join(f"{int(e.model_.config.code_dim)}-D {e.model_.config.variant}" for e in models.values())
    title = f"{', '.join(models)}: {kinds} on {len(dataset)} samples of {dataset.name or 'X'}"
    if max(int(e.model_.config.code_dim) for e in models.values()) > 2:
        title += f", dims {dims[0]} and {dims[1]}"
    return InlineExplorer(explorer_html(session, dims=dims, max_points=max_points), title)


# -- helpers ---------------------------------------------------------------------------
def _attribute(text: str) -> str:
    """``text`` as an HTML attribute value in ASCII: quotes escaped, every other character a reference,
    so the page survives a notebook (or a saved cell) read in any encoding."""
    return html_lib.escape(text, quote=True).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _models(model: Any, trust_code: Any) -> dict[str, AutoEncoder]:
    if isinstance(model, AutoEncoder):
        return {"model": model}
    if isinstance(model, Mapping):
        out = {}
        for name, est in model.items():
            if not isinstance(est, AutoEncoder):
                raise ConfigError(f"model {name!r} is a {type(est).__name__}; the explorer shows fitted AutoEncoders")
            out[str(name)] = est
        if not out:
            raise ConfigError("model={} names no models; pass a fitted AutoEncoder or a mapping of them")
        return out
    if isinstance(model, (str, Path)):
        return {"model": AutoEncoder.load(model, trust_code=trust_code)}
    raise ConfigError(
        f"model={type(model).__name__} is not a fitted AutoEncoder, a model directory or a mapping of names to models"
    )


def _dataset(models: Mapping[str, AutoEncoder], X: Any, y: Any) -> Dataset:
    from aekit.data import load as load_data

    est = next(iter(models.values()))
    if not hasattr(est, "model_"):
        raise ConfigError("the model is not fitted; call fit (or aekit.load) first")
    if X is None:
        spec = (getattr(est, "data_", None) or {}).get("spec")
        if not spec:
            raise ConfigError("the model records no data set: pass the data to show, e.g. ae.explore(X)")
        return load_data(spec)
    if isinstance(X, Dataset):
        return X
    if isinstance(X, (str, Path)):
        return load_data(str(X))
    x = np.asarray(X, dtype=np.float32)
    n_features = int(est.n_features_in_)
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != n_features:
        raise ConfigError(
            f"X has shape {x.shape}; the model takes samples of shape {tuple(est.input_shape_)} "
            f"({n_features} values), so X must be (n, {n_features}) or (n, {', '.join(map(str, est.input_shape_))})"
        )
    labels = None if y is None else np.asarray(y).astype(np.int64).ravel()
    if labels is not None and len(labels) != len(x):
        raise ConfigError(f"y has {len(labels)} labels for {len(x)} samples of X")
    kind = getattr(est, "kind_", None) or ("image" if len(est.input_shape_) == 3 else "table")
    shape = (n_features,) if kind == "table" else tuple(est.input_shape_)
    return Dataset(x=np.ascontiguousarray(x.reshape(len(x), *shape)), y=labels, kind=kind, name="X")


def _check_dims(models: Mapping[str, AutoEncoder], dims: Sequence[int]) -> list[int]:
    for name, est in models.items():
        code_dim = int(est.model_.config.code_dim)
        if code_dim < 2:
            raise ConfigError(
                f"model {name!r} has a {code_dim}-D code; the explorer's plane needs code_dim >= 2 "
                "(serve a 1-D model with `aekit explore MODEL`)"
            )
        ok = (
            isinstance(dims, (tuple, list))
            and len(dims) == 2
            and all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims)
            and dims[0] != dims[1]
            and all(0 <= d < code_dim for d in dims)
        )
        if not ok:
            raise ConfigError(
                f"dims={tuple(dims) if isinstance(dims, (tuple, list)) else dims!r} must be two different "
                f"code dimensions in [0, {code_dim - 1}] (code_dim={code_dim})"
            )
    return [int(d) for d in dims]
