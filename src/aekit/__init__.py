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
from aekit.estimators import AnomalyDetector, AutoEncoder  # noqa: E402


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


__all__ = ["AnomalyDetector", "AutoEncoder", "data", "load", "__version__"]
