"""aekit: the autoencoder toolkit.

Train an encoder, a bottleneck and a decoder on unlabelled data, then embed,
reconstruct, score and explore, with the PCA baseline always beside the result.

Examples
--------
>>> import aekit
>>> X = aekit.data.load("builtin:digits").x            # (1797, 1, 8, 8) in [0, 1]
>>> ae = aekit.AutoEncoder(code_dim=8, epochs=2).fit(X)
>>> ae.transform(X).shape
(1797, 8)
"""

from __future__ import annotations

from aekit import data  # noqa: E402
from aekit._version import __version__
from aekit.estimators import AnomalyDetector, AutoEncoder, SeriesAnomalyDetector  # noqa: E402
from aekit.estimators import explore as _explore_slot  # noqa: E402


def load(path, trust_code=None) -> AutoEncoder:
    """Load a model directory written by ``AutoEncoder.save`` or ``aekit fit``.

    Nothing is unpickled: weights come from safetensors, everything else from JSON.
    A model built with your own networks (``encoder="mynets:make_encoder"``)
    imports their modules only where ``trust_code`` lists them: ``["mynets"]``
    allows ``mynets`` and the modules under it; by default nothing is imported
    and loading such a model raises a ConfigError naming the module.

    Examples
    --------
    >>> ae = aekit.load("model/")  # doctest: +SKIP
    >>> own = aekit.load("own-model/", trust_code=["mynets"])  # doctest: +SKIP
    """
    return AutoEncoder.load(path, trust_code=trust_code)


def explore(model=None, X=None, *, dims=(0, 1), **options):
    """The explorer, inline in a notebook: the default 2-D autoencoder and VAE, or your model.

    Returns an object whose HTML output is the whole explorer page (decoder weights
    embedded, decoded in the page's JavaScript, no server, no request leaving the
    page). See :func:`aekit.explorer.inline.explore` for every option.

    Examples
    --------
    >>> import aekit
    >>> aekit.explore()  # doctest: +SKIP
    >>> aekit.AutoEncoder(code_dim=4).fit(X).explore(X, dims=(0, 2))  # doctest: +SKIP
    """
    from aekit.explorer.inline import explore as explore_inline

    return explore_inline(model, X, dims=dims, **options)


# AutoEncoder.explore reaches the explorer (a higher layer) through this registration.
_explore_slot.set_explorer(explore)

__all__ = ["AnomalyDetector", "AutoEncoder", "SeriesAnomalyDetector", "data", "explore", "load", "__version__"]
