"""``AutoEncoder.explore``: the explorer inline in a notebook, reached through a registered builder.

The explorer (``aekit.explorer``, layer 11 of ARCHITECTURE.md) sits above the
estimators (layer 9), which may not import it, not even lazily. So this layer only
declares the method and a slot for the builder; ``aekit/__init__.py`` (the top
layer, which may import both) fills the slot with :func:`aekit.explore` when aekit
is imported, which every import of an estimator does first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aekit.errors import ConfigError

_BUILDER: Callable[..., Any] | None = None


def set_explorer(builder: Callable[..., Any] | None) -> None:
    """Register what ``AutoEncoder.explore`` calls: ``builder(model, X, dims=..., **options)``.

    Examples
    --------
    >>> import aekit
    >>> from aekit.estimators import explore
    >>> explore._BUILDER is not None  # aekit/__init__.py registered aekit.explore
    True
    """
    global _BUILDER
    _BUILDER = builder


class ExploreMixin:
    """Adds :meth:`explore` to an estimator with a code (``AutoEncoder``)."""

    def explore(self, X: Any = None, *, dims: Sequence[int] = (0, 1), **options: Any) -> Any:
        """Show this model in the explorer, inline in a notebook: drag through its latent plane.

        The cell's output is the explorer page with the decoder's weights embedded and
        decoding done in the page's JavaScript: no server, no request leaving the page,
        so it keeps working in the notebook saved as HTML. Only fully connected models
        (``arch`` 'mlp' or 'linear') can be mirrored in JavaScript; serve a conv model
        with ``aekit explore MODEL`` instead.

        Parameters
        ----------
        X : array, Dataset or data spec, optional
            The data behind the scatter and the presets, samples of the model's shape
            (or flat); by default the data set the model records.
        dims : pair of int, default (0, 1)
            The code dimensions the plane shows first; a wider code gets sliders for the rest.
        **options
            ``y`` (labels colouring the scatter), ``max_points``, ``seed``: see :func:`aekit.explore`.

        Returns
        -------
        aekit.explorer.inline.InlineExplorer
            Displayed as the cell's output; ``.save("page.html")`` writes it as one file.

        Examples
        --------
        >>> import aekit
        >>> ds = aekit.data.load("builtin:shapes12?n=120")
        >>> ae = aekit.AutoEncoder(code_dim=3, epochs=1, hidden=(16,)).fit(ds)
        >>> ae.explore(ds, dims=(1, 2)).title
        'model: 3-D plain on 120 samples of builtin:shapes12?n=120, dims 1 and 2'
        """
        if _BUILDER is None:
            raise ConfigError("the explorer is not registered: `import aekit` registers it")
        return _BUILDER(self, X, dims=dims, **options)
