"""Does a model show the explorer's lesson? The numbers behind the page's claims, measured in Python.

The explorer teaches with six preset shapes: each lands at its own spot of the
latent plane and comes back as itself, the decoded plane holds every class, a point
between two presets decodes to a blend of them, and a VAE's prior draws look like
the data. :func:`lesson_report` measures each of these on a :class:`Session`'s
model exactly as the page shows it (the same presets, the same latent range, the
same 10x10 grid), so the tests and ``benchmarks/explorer_lesson.py`` check what a
reader sees. Distances between images are mean squared differences in the data's
units; distances between codes are Euclidean.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from aekit.explorer.session import Session

__all__ = ["GRID_N", "PRIOR_DRAWS", "lesson_report", "nearest_preset"]

#: Side of the decoded manifold grid the lesson is checked on (the page's grid toggle shows a finer one).
GRID_N = 10
#: Prior draws (and held-out samples) behind the "samples look like the data" number.
PRIOR_DRAWS = 500


def nearest_preset(images: np.ndarray, presets: np.ndarray) -> np.ndarray:
    """Mean squared distance from every image to every preset.

    Parameters
    ----------
    images : numpy.ndarray, shape (n, n_features)
    presets : numpy.ndarray, shape (p, n_features)

    Returns
    -------
    numpy.ndarray, shape (n, p), float64
        ``d[i, j]`` = mean over features of ``(images[i] - presets[j]) ** 2``.

    Examples
    --------
    >>> nearest_preset(np.zeros((1, 4)), np.array([[0.0, 0, 0, 1], [1.0, 1, 1, 1]]))
    array([[0.25, 1.  ]])
    """
    a = np.asarray(images, np.float64)
    b = np.asarray(presets, np.float64)
    return ((a[:, None, :] - b[None, :, :]) ** 2).mean(-1)


def lesson_report(session: Session, model: str, *, seed: int = 0) -> dict[str, Any]:
    """Measure the lesson on one model of a session: codes apart, presets come back, blends, holes.

    Parameters
    ----------
    session : Session
        Its presets are the reference shapes; its data set the "data" the samples are compared to.
    model : str
        A model name of the session (2-D or wider; the grid spans dims 0 and 1, the others at 0).
    seed : int, default 0
        Seed of the prior draws and of the held-out rows they are compared against.

    Returns
    -------
    dict
        ``presets`` (names), ``self`` (names whose reconstruction is nearest their own preset),
        ``wrong`` ({name: the preset its reconstruction is nearest}), ``separation`` (smallest
        distance between two presets' codes over the data codes' mean spread, the mean distance
        of the encoded data from its centroid), ``closest_pair``, ``grid_classes`` (names nearest
        to at least one tile of the 10x10 decoded grid over the latent range), ``blends``
        (pairs whose midpoint code decodes nearest one of the two), ``blends_both`` (pairs whose
        midpoint decodes nearer to both than to any third preset), ``blend_ceiling`` (pairs whose
        midpoint code is no nearer a third preset's code than to theirs: the count a decoder that
        decodes each code as its nearest preset would reach), ``pairs`` (number of pairs),
        and ``samples``: ``prior_vs_data``, the median distance of decoded random codes to the
        nearest data sample over the same for held-out data samples (1 would be as data-like as
        new data), with the draws from N(0, I) for a model that can sample and uniform over the
        latent range otherwise, and ``draws``.

    Examples
    --------
    >>> import aekit
    >>> ds = aekit.data.load("builtin:shapes12?n=240")
    >>> s = Session({"ae": aekit.AutoEncoder(code_dim=2, epochs=1).fit(ds)}, ds)
    >>> r = lesson_report(s, "ae")
    >>> r["presets"][:3], r["pairs"], 0 <= len(r["self"]) <= 6
    (['bar', 'ring', 'cross'], 15, True)
    """
    est = session.model(model)
    code_dim = int(est.model_.config.code_dim)
    presets = session.presets()
    names = [p["name"] for p in presets]
    xs = np.asarray([p["x"] for p in presets], np.float32)  # (p, n_features)
    samples = xs.reshape(len(xs), *session.sample_shape)
    codes = est.transform(samples)  # (p, code_dim)
    recon = est.reconstruct(samples).reshape(len(xs), -1)
    near = nearest_preset(recon, xs).argmin(1)
    own = [names[i] for i in range(len(names)) if near[i] == i]
    wrong = {names[i]: names[int(near[i])] for i in range(len(names)) if near[i] != i}

    data_codes = est.transform(session.dataset.x)  # (n, code_dim)
    spread = float(np.linalg.norm(data_codes - data_codes.mean(0), axis=1).mean())
    gaps = {(a, b): float(np.linalg.norm(codes[a] - codes[b])) for a, b in combinations(range(len(names)), 2)}
    (ca, cb), closest = min(gaps.items(), key=lambda kv: kv[1])

    grid = session.grid(model, n=GRID_N, dims=(0, 1) if code_dim > 1 else (0,))
    tiles = np.asarray(grid["images"], np.float32)
    shown = sorted(set(nearest_preset(tiles, xs).argmin(1).tolist()))

    pairs = list(combinations(range(len(names)), 2))
    mids = np.stack([(codes[a] + codes[b]) / 2 for a, b in pairs]).astype(np.float32)
    d = nearest_preset(est.inverse_transform(mids).reshape(len(pairs), -1), xs)  # (pairs, p)
    blends, both, ceiling = 0, 0, 0
    for k, (a, b) in enumerate(pairs):
        others = np.delete(d[k], [a, b]).min()
        blends += bool(min(d[k, a], d[k, b]) < others)
        both += bool(max(d[k, a], d[k, b]) < others)
        # Were each code decoded as its nearest preset's code, this midpoint would be a or b only if no
        # third code lay nearer it (a Gabriel pair): with codes in a plane that is at most 3 p - 6 pairs.
        reach = np.linalg.norm(codes - mids[k], axis=1)
        ceiling += bool(min(reach[a], reach[b]) <= np.delete(reach, [a, b]).min())
    return {
        "presets": names,
        "self": own,
        "wrong": wrong,
        "separation": closest / spread if spread > 0 else 0.0,
        "closest_pair": [names[ca], names[cb]],
        "spread": spread,
        "grid_classes": [names[i] for i in shown],
        "blends": blends,
        "blends_both": both,
        "blend_ceiling": ceiling,
        "pairs": len(pairs),
        "samples": _samples_like_data(session, model, seed),
    }


def _samples_like_data(session: Session, model: str, seed: int) -> dict[str, Any]:
    """How close decoded random codes come to the data, against how close held-out data comes."""
    est = session.model(model)
    rng = np.random.default_rng(seed)
    ds = session.dataset
    flat = ds.flat().astype(np.float32)  # (n, n_features)
    test = ds.is_test if ds.is_test is not None and ds.is_test.any() else rng.random(len(flat)) < 0.2
    train, held = flat[~test], flat[test]
    held = held[rng.permutation(len(held))[:PRIOR_DRAWS]]
    code_dim = int(est.model_.config.code_dim)
    if est.model_.capabilities.can_sample:
        z = rng.standard_normal((PRIOR_DRAWS, code_dim)).astype(np.float32)
        source = "N(0, I)"
    else:
        ranges = np.asarray(session.latent_range(model))
        z = rng.uniform(ranges[:, 0], ranges[:, 1], (PRIOR_DRAWS, code_dim)).astype(np.float32)
        source = "uniform over the latent range"
    decoded = est.inverse_transform(z).reshape(PRIOR_DRAWS, -1)
    draws = float(np.median(_nearest_distance(decoded, train)))
    data = float(np.median(_nearest_distance(held, train)))
    return {"prior_vs_data": draws / data if data > 0 else float("inf"), "draws": source, "median_draw": draws}


def _nearest_distance(a: np.ndarray, b: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Mean squared distance from each row of ``a`` (n, f) to its nearest row of ``b`` (m, f), shape (n,)."""
    b64 = b.astype(np.float64)
    b_sq = (b64**2).sum(1)
    out = []
    for start in range(0, len(a), chunk):
        part = a[start : start + chunk].astype(np.float64)
        d = (part**2).sum(1)[:, None] - 2 * part @ b64.T + b_sq[None]
        out.append(np.maximum(d.min(1), 0.0) / a.shape[1])
    return np.concatenate(out)
