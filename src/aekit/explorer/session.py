"""The explorer's state: named fitted models plus one data set, and every answer the page asks for.

The HTTP layer (:mod:`aekit.explorer.server`) only parses requests and calls the
methods here, so each answer is testable without a server. Every method
validates its arguments and raises :class:`RequestError` with a message that
names the bad value and what is allowed; answers are JSON-ready (lists of
Python floats, exact float32 values), so the page draws exactly what the
estimator's decoder returned.

Only the public estimator contract is used: ``transform``, ``inverse_transform``,
``reconstruct``, ``reconstruction_error``, ``preprocessing_`` and ``model_``
(``model_.encode(x)`` for the posterior's log-variance, ``model_.loss(x)`` for
a VAE's terms).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from aekit.data import Dataset
from aekit.errors import AekitError
from aekit.estimators.autoencoder import AutoEncoder
from aekit.explorer.presets import label_name, label_names, preset_inputs
from aekit.explorer.requests import RequestError, check_dims, floats, number_list

#: Most codes one decode request may ask for.
MAX_DECODE = 256
#: Largest side of the manifold grid (n x n decodes).
MAX_GRID = 32
#: Most values (decodes x features) one grid answer may hold.
MAX_GRID_VALUES = 2_000_000
#: Most encoded data points the scatter may ask for.
MAX_POINTS = 5000
#: Codes beyond this magnitude are refused: far outside any trained region and near float32's limits.
MAX_ABS_CODE = 1e4
#: Posterior draws averaged for a VAE's reconstruction term (seeded, so the number is repeatable).
TERM_DRAWS = 32
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class Session:
    """Named fitted autoencoders and the data set they are explored on.

    Parameters
    ----------
    models : mapping of str to AutoEncoder
        Fitted estimators by name (letters, digits, ``_`` and ``-``), e.g.
        ``{"ae": plain, "vae": vae}``; all take samples of the data set's size.
    dataset : aekit.data.Dataset
        The samples behind the scatter, the hover and the presets, ``x`` of shape
        (n, *sample_shape).
    max_points : int, default 2000
        Encoded samples in the scatter, at most :data:`MAX_POINTS`; a seeded
        uniform subsample when the data set is larger.
    seed : int, default 0
        Seed of that subsample.

    Notes
    -----
    The preset buttons show one clean example per class for shapes12
    (:func:`aekit.data.shapes12_presets`), else the first three samples of each
    label (the first twelve samples of unlabelled data).

    Examples
    --------
    >>> import aekit
    >>> ds = aekit.data.load("builtin:shapes12?n=120")
    >>> ae = aekit.AutoEncoder(code_dim=2, epochs=1).fit(ds)
    >>> s = Session({"ae": ae}, ds)
    >>> s.meta()["models"][0]["code_dim"], [p["name"] for p in s.presets()][:2]
    (2, ['bar', 'ring'])
    >>> out = s.decode("ae", [[0.0, 0.0]])
    >>> len(out["images"]), len(out["images"][0])
    (1, 144)
    """

    def __init__(self, models: Mapping[str, AutoEncoder], dataset: Dataset, *, max_points: int = 2000, seed: int = 0):
        if not models:
            raise AekitError("a session needs at least one fitted model")
        if isinstance(max_points, bool) or not isinstance(max_points, int) or not 1 <= max_points <= MAX_POINTS:
            raise AekitError(f"max_points={max_points!r} must be an integer in [1, {MAX_POINTS}]")
        self.dataset = dataset
        self.sample_shape = tuple(dataset.sample_shape)
        self.n_features = int(dataset.n_features)
        self.models: dict[str, AutoEncoder] = {}
        for name, est in models.items():
            if not _NAME.match(str(name)):
                raise AekitError(f"model name {name!r} must be 1-32 letters, digits, '_' or '-'")
            if not hasattr(est, "model_"):
                raise AekitError(f"model {name!r} is not fitted; call fit or aekit.load first")
            if est.n_features_in_ != self.n_features:
                raise AekitError(
                    f"model {name!r} takes samples of shape {tuple(est.input_shape_)} "
                    f"({est.n_features_in_} values), but {dataset.name or 'the data set'} has samples "
                    f"of shape {self.sample_shape} ({self.n_features} values)"
                )
            self.models[str(name)] = est
        flat = dataset.flat()
        low, high = float(flat.min()), float(flat.max())
        if dataset.kind == "image":  # images are scaled to [0, 1]; a set that is not still shows whole
            low, high = min(low, 0.0), max(high, 1.0)
        self.value_range = (low, high)
        order = np.random.default_rng(seed).permutation(len(dataset))
        self._points = order[:max_points]  # a prefix of a permutation: every prefix is a uniform subsample
        self._codes: dict[str, np.ndarray] = {}
        self._ranges: dict[str, list[list[float]]] = {}
        self._presets = preset_inputs(dataset)
        self._rng_lock = threading.Lock()  # encoders of VAEs and model.loss draw from torch's global RNG

    # -- what the page shows first ------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        """Everything the page needs before its first request.

        Returns
        -------
        dict
            ``dataset`` (name, kind, n, sample_shape, n_features, label_names,
            value_range), ``models`` (one dict per model: name, variant,
            bottleneck, stochastic, code_dim, input_shape, latent_range as
            ``code_dim`` pairs ``[low, high]``) and ``limits`` (max_decode,
            max_grid, max_points, max_abs_code).
        """
        from aekit._version import __version__

        ds = self.dataset
        models = []
        for name, est in self.models.items():
            cfg = est.model_.config
            models.append(
                {
                    "name": name,
                    "variant": cfg.variant,
                    "bottleneck": cfg.bottleneck,
                    "stochastic": est.model_.capabilities.stochastic,
                    "code_dim": int(cfg.code_dim),
                    "input_shape": list(cfg.input_shape),
                    "latent_range": self.latent_range(name),
                }
            )
        return {
            "aekit_version": __version__,
            "dataset": {
                "name": ds.name,
                "kind": ds.kind,
                "n": len(ds),
                "sample_shape": list(self.sample_shape),
                "n_features": self.n_features,
                "label_names": label_names(ds),
                "value_range": list(self.value_range),
            },
            "models": models,
            "limits": {
                "max_decode": MAX_DECODE,
                "max_grid": MAX_GRID,
                "max_points": len(self._points),
                "max_abs_code": MAX_ABS_CODE,
            },
        }

    def presets(self) -> list[dict[str, Any]]:
        """The preset inputs: a list of ``{"name", "label", "x"}``, ``x`` flat (n_features,)."""
        return [{"name": name, "label": label, "x": floats(x)} for name, label, x in self._presets]

    def sample(self, index: Any) -> dict[str, Any]:
        """One sample of the data set, for the scatter's hover.

        Parameters
        ----------
        index : int
            Row of the data set, in [0, n).

        Returns
        -------
        dict
            ``index``, ``label`` (int or None), ``label_name`` and ``x`` flat (n_features,).
        """
        n = len(self.dataset)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
            raise RequestError(f"index={index!r} must be an integer in [0, {n - 1}]")
        label = None if self.dataset.y is None else int(self.dataset.y[index])
        return {
            "index": index,
            "label": label,
            "label_name": label_name(self.dataset, label),
            "x": floats(self.dataset.x[index]),
        }

    # -- the model's answers ------------------------------------------------------------------
    def encode(self, model: str, x: Any) -> dict[str, Any]:
        """Encode one input and reconstruct it from its mean code.

        Parameters
        ----------
        model : str
            A model name from :meth:`meta`.
        x : sequence of float, length n_features
            The input, flat, in the data set's units and value range.

        Returns
        -------
        dict
            ``mean`` (code_dim,), ``logvar`` (code_dim,) or None for a deterministic
            code, ``reconstruction`` (n_features,) = ``est.reconstruct(x)``, ``error``
            = ``est.reconstruction_error(x)`` and ``terms``: the model's loss terms
            (``recon``, ``loss`` and for a VAE ``kl``, in nats), averaged over
            :data:`TERM_DRAWS` seeded posterior draws.
        """
        est = self.model(model)
        sample = self.check_input(x)[None]  # (1, *sample_shape)
        # A VAE's encoder draws from torch's global generator: one caller at a time keeps the
        # seeded terms repeatable when several requests run in the thread pool.
        with self._rng_lock, torch.inference_mode():
            xs = torch.from_numpy(est.preprocessing_.transform(sample)).reshape(1, *est.input_shape_)
            code = est.model_.encode(xs)
            mean = code.mean.numpy()[0]  # (code_dim,)
            logvar = None if code.logvar is None else code.logvar.numpy()[0]
            recon = est.reconstruct(sample)
            error = float(est.reconstruction_error(sample)[0])
            terms = self._terms(est, xs)
        return {
            "mean": floats(mean),
            "logvar": None if logvar is None else floats(logvar),
            "reconstruction": floats(recon),
            "error": error,
            "terms": terms,
        }

    def decode(self, model: str, codes: Any, x: Any = None) -> dict[str, Any]:
        """Decode a batch of codes, as ``est.inverse_transform`` does.

        Parameters
        ----------
        model : str
            A model name from :meth:`meta`.
        codes : sequence of sequences of float, shape (n, code_dim), 1 <= n <= MAX_DECODE
        x : sequence of float or array, n_features values, optional
            An input to measure each decoded sample's error against.

        Returns
        -------
        dict
            ``codes``: (n, code_dim) the float32 codes decoded; ``images``:
            (n, n_features) decoded samples in the data's units; ``errors``: (n,)
            mean squared error against ``x`` in the model's scaled space (as
            ``reconstruction_error``), or None without ``x``.
        """
        est = self.model(model)
        z = self.check_codes(model, codes)  # (n, code_dim)
        target = None if x is None else self.check_input(x)
        images = self._decode(est, z)  # (n, n_features)
        errors = None
        if target is not None:
            scaled = est.preprocessing_.transform(images)  # (n, n_features)
            wanted = est.preprocessing_.transform(target.reshape(1, -1))  # (1, n_features)
            errors = [float(e) for e in ((scaled - wanted) ** 2).mean(1)]
        return {"codes": z.tolist(), "images": [floats(row) for row in images], "errors": errors}

    def grid(self, model: str, n: Any = 10, dims: Any = (0, 1), base: Any = None) -> dict[str, Any]:
        """The decoded manifold: an n x n grid of codes over the latent range, decoded.

        Parameters
        ----------
        model : str
        n : int, default 10
            Grid side, in [2, MAX_GRID].
        dims : pair of int, default (0, 1)
            The code dimensions along x (columns) and y (rows); one index for a
            1-D code.
        base : sequence of float, length code_dim, optional
            Values of the other dimensions (zeros by default).

        Returns
        -------
        dict
            ``n``, ``dims``, ``xs`` (n,) and ``ys`` (n,) grid values (``ys`` from
            high to low, so row 0 is the top of the plane), ``images``
            (n * n, n_features) in row-major order.
        """
        est = self.model(model)
        code_dim = int(est.model_.config.code_dim)
        if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= MAX_GRID:
            raise RequestError(f"n={n!r} must be an integer in [2, {MAX_GRID}]")
        if n * n * self.n_features > MAX_GRID_VALUES:
            raise RequestError(
                f"n={n} asks for {n * n} decodes of {self.n_features} values; at most "
                f"{MAX_GRID_VALUES:,} values per grid, so n <= {math.isqrt(MAX_GRID_VALUES // self.n_features)}",
                status=413,
            )
        dims = check_dims(dims, code_dim)
        start = np.zeros(code_dim, np.float32) if base is None else self.check_codes(model, [base])[0]
        ranges = self.latent_range(model)
        xs = np.linspace(*ranges[dims[0]], n, dtype=np.float32)
        ys = np.linspace(*ranges[dims[-1]], n, dtype=np.float32)[::-1]
        z = np.repeat(start[None], n * n, axis=0)  # (n * n, code_dim)
        z[:, dims[0]] = np.tile(xs, n)
        if len(dims) == 2:
            z[:, dims[1]] = np.repeat(ys, n)
        images = self._decode(est, z)
        return {
            "n": n,
            "dims": list(dims),
            "xs": floats(xs),
            "ys": floats(ys) if len(dims) == 2 else None,
            "images": [floats(row) for row in images],
        }

    def codes(self, model: str, limit: Any = None) -> dict[str, Any]:
        """Deterministic codes of a bounded, seeded subsample of the data set.

        Parameters
        ----------
        model : str
        limit : int, optional
            At most this many points, in [1, max_points]; all of them by default.

        Returns
        -------
        dict
            ``codes`` (m, code_dim) = ``est.transform`` of the rows ``indices``
            (m,), and ``labels`` (m,) or None.
        """
        est = self.model(model)
        m = len(self._points)
        if limit is None:
            limit = m
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= m:
            raise RequestError(f"limit={limit!r} must be an integer in [1, {m}]")
        codes = self._data_codes(model, est)[:limit]
        rows = self._points[:limit]
        labels = None if self.dataset.y is None else [int(v) for v in self.dataset.y[rows]]
        return {"codes": [floats(row) for row in codes], "indices": [int(i) for i in rows], "labels": labels}

    def latent_range(self, model: str) -> list[list[float]]:
        """The span of each code dimension the plane and the grid show.

        The encoded data's 0.5-99.5 % span, padded by 10 % each side; for a VAE it
        also covers the prior's two-sigma interval [-2, 2].

        Parameters
        ----------
        model : str

        Returns
        -------
        list of [low, high], length code_dim
        """
        est = self.model(model)
        if model not in self._ranges:
            codes = self._data_codes(model, est)
            low, high = np.percentile(codes, [0.5, 99.5], axis=0)
            if est.model_.capabilities.can_sample:  # the prior's two-sigma interval
                low, high = np.minimum(low, -2.0), np.maximum(high, 2.0)
            pad = np.maximum(0.1 * (high - low), 1e-3)
            self._ranges[model] = [[float(lo), float(hi)] for lo, hi in zip(low - pad, high + pad)]
        return self._ranges[model]

    # -- validation ---------------------------------------------------------------------------
    def model(self, name: Any) -> AutoEncoder:
        """The estimator named ``name``.

        Raises
        ------
        RequestError
            Status 404, naming the models this session has.
        """
        est = self.models.get(name) if isinstance(name, str) else None
        if est is None:
            raise RequestError(f"unknown model {name!r}; this session has: {', '.join(self.models)}", status=404)
        return est

    def check_input(self, x: Any) -> np.ndarray:
        """Validate one input: ``n_features`` finite numbers in the data's value range.

        Returns
        -------
        numpy.ndarray, shape sample_shape, float32
        """
        values = number_list(x, "x", self.n_features)
        low, high = self.value_range
        outside = (values < low) | (values > high)
        if outside.any():
            i = int(outside.argmax())
            raise RequestError(f"x[{i}]={values[i]:g} is outside the data's value range [{low:g}, {high:g}]")
        return values.astype(np.float32).reshape(self.sample_shape)

    def check_codes(self, model: str, codes: Any) -> np.ndarray:
        """Validate a batch of codes for ``model``: 1 to MAX_DECODE rows of ``code_dim`` finite numbers.

        Returns
        -------
        numpy.ndarray, shape (n, code_dim), float32
        """
        code_dim = int(self.model(model).model_.config.code_dim)
        if not isinstance(codes, (list, tuple)) or not 1 <= len(codes) <= MAX_DECODE:
            size = f"{len(codes)} codes" if isinstance(codes, (list, tuple)) else f"a {type(codes).__name__}"
            raise RequestError(
                f"codes must be a list of 1 to {MAX_DECODE} codes, got {size}",
                status=413 if isinstance(codes, (list, tuple)) and len(codes) > MAX_DECODE else 400,
            )
        rows = [number_list(row, f"codes[{i}]", code_dim) for i, row in enumerate(codes)]
        z = np.stack(rows)
        too_far = np.abs(z) > MAX_ABS_CODE
        if too_far.any():
            i, j = np.unravel_index(int(too_far.argmax()), z.shape)
            raise RequestError(f"codes[{i}][{j}]={z[i, j]:g} is outside [-{MAX_ABS_CODE:g}, {MAX_ABS_CODE:g}]")
        return z.astype(np.float32)

    # -- helpers ------------------------------------------------------------------------------
    def _decode(self, est: AutoEncoder, z: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            images = est.inverse_transform(z).reshape(len(z), -1)  # (n, n_features)
        if not np.isfinite(images).all():
            raise RequestError("the decoder returned non-finite values at these codes", status=422)
        return images

    def _terms(self, est: AutoEncoder, xs: torch.Tensor) -> dict[str, float]:
        """The model's loss terms on ``xs`` (1, *input_shape), averaged over seeded draws."""
        batch = xs.expand(TERM_DRAWS, *xs.shape[1:])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            terms = est.model_.loss(batch)
        return {name: float(value) for name, value in terms.items()}

    def _data_codes(self, model: str, est: AutoEncoder) -> np.ndarray:
        if model not in self._codes:
            rows = self.dataset.x[self._points]
            with self._rng_lock, torch.inference_mode():
                self._codes[model] = est.transform(rows.reshape(len(rows), *est.input_shape_))
        return self._codes[model]
