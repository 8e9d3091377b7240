"""The code scatter: the codes of many samples as points in the plane, coloured by label.

Re-exported by :mod:`aekit.report.figures_latent` and :mod:`aekit.report.figures`.
"""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from aekit.errors import ConfigError, DataError
from aekit.report._plot import new_figure

SCATTER_METHODS = ("auto", "pca", "tsne", "none")
# Categorical colouring up to this many classes; more (or non-integer labels) get a colour bar.
MAX_CLASSES = 20


def latent_scatter(
    codes: np.ndarray, labels: Any = None, label_names: Any = None, method: str = "auto", random_state: int = 0
) -> Figure:
    """The codes of many samples as points in the plane, coloured by label.

    Parameters
    ----------
    codes : ndarray, shape (m, code_dim)
        E.g. ``est.transform(X)``.
    labels : array-like, shape (m,), optional
        Integer or string classes (a legend, up to 20 of them) or numbers (a colour bar).
    label_names : sequence or dict, optional
        Names of integer labels: ``label_names[label]`` (e.g. ``Dataset.label_names``).
    method : {"auto", "pca", "tsne", "none"}, default "auto"
        How codes wider than 2 reach the plane: "auto" plots 1- and 2-D codes as
        they are and projects wider ones by PCA (the axes name the method and the
        share of variance each component explains); "tsne" uses scikit-learn's
        t-SNE (slow beyond a few thousand points); "none" plots the first two
        dimensions.
    random_state : int, default 0
        Seeds t-SNE and the vertical jitter of 1-D codes.

    Returns
    -------
    Figure
        One axes holding one PathCollection with a point per sample.

    Examples
    --------
    >>> codes = np.random.default_rng(0).normal(size=(30, 5))
    >>> fig = latent_scatter(codes, labels=np.arange(30) % 3, label_names=["a", "b", "c"])
    >>> ax = fig.axes[0]
    >>> len(ax.collections[0].get_offsets()), ax.get_xlabel()[:5]
    (30, 'PCA 1')
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['a', 'b', 'c']
    """
    z = np.asarray(codes, dtype=np.float64)
    if z.ndim != 2 or len(z) == 0 or z.shape[1] == 0:
        raise DataError(f"codes must have shape (m, code_dim) with m >= 1, got shape {z.shape}")
    if not np.isfinite(z).all():
        raise DataError("codes contain NaN or infinite values")
    if method not in SCATTER_METHODS:
        raise ConfigError(f"method={method!r} is not one of: {', '.join(SCATTER_METHODS)}")
    m, d = z.shape
    xy, axis_names, how = _project(z, method, random_state)
    fig = new_figure(6.0, 5.0)
    ax = fig.add_subplot()
    size = float(np.clip(3000.0 / m, 2.0, 30.0))
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, color="C0", rasterized=m > 2000)
    else:
        y = np.asarray(labels)
        if y.shape != (m,):
            raise DataError(f"labels has shape {y.shape}; it must be one label per code, ({m},)")
        classes, index = np.unique(y, return_inverse=True)
        whole = y.dtype.kind == "f" and np.allclose(classes, classes.round())  # 0.0, 1.0, ... read as classes
        categorical = y.dtype.kind in "biuUSO" or whole
        if categorical and len(classes) <= MAX_CLASSES:
            cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
            ax.scatter(xy[:, 0], xy[:, 1], s=size, c=cmap(index), rasterized=m > 2000)
            names = [_label_name(c, label_names) for c in classes]
            handles = [
                Line2D([], [], marker="o", linestyle="", color=cmap(i), label=name) for i, name in enumerate(names)
            ]
            ax.legend(handles=handles, title="label", fontsize="small", loc="best")
        else:
            if y.dtype.kind not in "biuf":
                raise DataError(
                    f"labels have {len(classes)} distinct non-numeric values; at most {MAX_CLASSES} "
                    "classes can be told apart by colour"
                )
            points = ax.scatter(xy[:, 0], xy[:, 1], s=size, c=y.astype(float), cmap="viridis", rasterized=m > 2000)
            fig.colorbar(points, ax=ax, label="label")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_title(f"Codes of {m} samples{how}")
    return fig


def _project(z: np.ndarray, method: str, random_state: int) -> tuple[np.ndarray, list[str], str]:
    """(m, 2) plane coordinates, the two axis names and a title suffix."""
    m, d = z.shape
    if d == 1:
        jitter = np.random.default_rng(random_state).uniform(-0.5, 0.5, m)
        return np.column_stack([z[:, 0], jitter]), ["z0", "random jitter (no meaning)"], ", 1-D code"
    if method == "none" or (method == "auto" and d == 2):
        return z[:, :2], ["z0", "z1"], f", dimensions 0 and 1 of {d}" if d > 2 else ""
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(1.0, (m - 1) / 3.0))
        xy = TSNE(n_components=2, perplexity=perplexity, random_state=random_state, init="pca").fit_transform(z)
        return xy, ["t-SNE 1", "t-SNE 2"], f", t-SNE of {d}-D codes"
    if m < 2:
        raise DataError(f"a PCA projection needs at least 2 codes, got {m}")
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2).fit(z)
    share = pca.explained_variance_ratio_
    names = [f"PCA {i + 1} ({100 * share[i]:.1f} % of variance)" for i in range(2)]
    return pca.transform(z), names, f", PCA of {d}-D codes ({100 * share.sum():.0f} % of variance)"


def _label_name(value: Any, names: Any) -> str:
    if names is not None:
        try:
            return str(names[value.item() if hasattr(value, "item") else value])
        except (IndexError, KeyError, TypeError):
            pass
    return str(value.item() if hasattr(value, "item") else value)
