"""Anomaly detection with an autoencoder: train on (mostly) normal data, score what it cannot explain.

A sample can be unusual in two ways an autoencoder sees. Its reconstruction can be
poor: the code could not keep what makes it different (the classic
reconstruction-error detector). Or it can be reconstructed well from a code that
lies far from the codes of the training data: thyroid anomalies on ADBench are
mostly of this kind, extreme values along directions the code does keep. PCA
process monitoring has long used the same pair (Jackson & Mudholkar 1979): the
residual Q and Hotelling's T^2 of the scores.

:class:`AnomalyDetector` adds both, each divided by its median on the training
data so neither dominates by its units:

    anomaly_score(x) = ||x - x_hat||^2 / median_train + d_M(z)^2 / median_train

with ``d_M`` the Mahalanobis distance of the deterministic code ``z`` under a
Gaussian fitted to the training codes (Ledoit-Wolf shrinkage, so a code wider
than the data supports still has a usable precision matrix).

For images the residual ``x - x_hat`` is first averaged over each pixel's 3x3
neighbourhood (``residual_window``): a stroke or an outline in the wrong place
leaves a residual that survives the blur, while pixel-level texture the
autoencoder smooths away mostly cancels. On the Fashion-MNIST one-class benchmark
(``benchmarks/fashion_oneclass.py``) this moved the mean ROC-AUC from 92.1 to 93.4. On the six ADBench
sets of ``benchmarks/adbench.py`` the reconstruction term alone averaged 80.5
ROC-AUC and the sum 87.2, against 82.9 for an IsolationForest (5 seeds each);
``method="reconstruction"`` keeps the classic detector.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.utils.validation import check_is_fitted

from aekit.data import Dataset
from aekit.data.tables import TableSchema
from aekit.errors import ConfigError, DataError
from aekit.estimators.anomaly_files import DETECTOR_FILE, DetectorFilesMixin  # noqa: F401  (re-exported)
from aekit.estimators.anomaly_member import METHODS, Member, member_shapes, positive_median
from aekit.estimators.autoencoder import AutoEncoder, _table_of
from aekit.estimators.inputs import _to_numpy
from aekit.nn.mlp import default_hidden

CRITERIA = METHODS  # the name before ``method`` replaced ``criterion``


class AnomalyDetector(DetectorFilesMixin, OutlierMixin, BaseEstimator):
    """An autoencoder-based outlier detector with scikit-learn's outlier-detector API.

    ``fit`` trains one :class:`~aekit.AutoEncoder` (or ``n_estimators`` of them) without
    labels; ``anomaly_score`` is higher for more unusual samples; ``predict`` flags the
    share ``contamination`` of the training data with the highest scores as -1 and gives
    everything scored below that threshold 1. Scores are deterministic: a VAE scores
    with its mean code.

    Parameters
    ----------
    code_dim : int or None, default None
        Code width; None takes a quarter of the features, at least 2 and at most 32
        (6 features -> 2, 36 -> 9, 784 -> 32).
    method : {"combined_knn", "combined", "reconstruction"}, default "combined_knn"
        What the score adds up, each term over its median on the training data.
        "reconstruction" is the error alone; "combined" adds the code's Mahalanobis
        distance (module docstring); "combined_knn" adds a third term, the distance
        from the code to its 5th nearest training code (of a seeded sample of at most
        5,000): a neighbourhood the Gaussian of the codes misses. The default was
        chosen by the leave-sets-out protocol of ``benchmarks/adbench_lso.py``: every
        fold of the 17 ADBench sets picked it on the other folds (out-of-fold mean
        ROC-AUC 82.8 against 82.0 for "combined" and 79.1 for an IsolationForest).
    n_estimators : int, default 3
        Autoencoders trained and averaged (1: a single detector). Member 0 is the single detector's; member
        ``i`` is seeded ``random_state + i`` and has a code ``(1, 0.5, 1.5, 0.75,
        1.25)[i % 5]`` times as wide behind hidden layers ``(1, 2, 0.5, 1, 2)[i % 5]``
        times as wide (tables and vectors; images keep their layers). Each member's
        score is divided by its median on the training data before the mean, so
        no member dominates by its units. Fit and score time grow with it.
    trim : float, default 0.1
        A robust objective for contaminated training data, in [0, 0.5): each member
        after the first trains (and takes its statistics) only on the rows the members
        before it score below their ``1 - trim`` quantile, so the rows most likely
        to be anomalies stop shaping the later networks. Every row still sets the
        threshold. Needs ``n_estimators >= 2`` to act.

        The defaults (3 members of 1,500 steps, ``trim=0.1``) were chosen by the
        leave-sets-out protocol of ``benchmarks/adbench_lso.py``: every fold of the 17
        ADBench sets picked them on the other folds, out-of-fold mean ROC-AUC 83.7
        against 82.8 for one member of 4,000 steps and 79.1 for an IsolationForest,
        13 of 17 sets won against it.
    variant : str, default "plain"
        The autoencoder's preset (see ``aekit.registry.VARIANTS``).
    contamination : float, default 0.1
        Expected share of anomalies in the training data, in (0, 0.5]: the
        threshold is the training scores' ``1 - contamination`` quantile.
    holdout_quantile : float or None, default None
        Set the threshold from held-out data instead of ``contamination``: a
        seeded 10 % of the rows is kept out of training, and ``threshold_`` is
        this quantile of their scores (0.99 flags about 1 % of new normal data).
        Scores of rows the model trained on are optimistic; held-out rows are
        scored as new data will be.
    residual_window : int or "auto", default "auto"
        Images only: the residual is averaged over ``window x window`` pixel
        neighbourhoods (a box blur, per channel, edges averaged over the pixels
        inside) before it is squared. An odd number; 1 scores raw per-pixel
        residuals. "auto" is 3 for images and 1 for tables and vectors, which
        have no neighbourhoods.
    estimator : AutoEncoder or None, default None
        An unfitted autoencoder to clone and train instead of the default one
        (then ``code_dim``, ``variant``, ``epochs``, ``steps``, ``batch_size`` and
        ``random_state`` are ignored; ensemble members differ only in their seed,
        the estimator's ``random_state + i``).
    epochs, steps, batch_size : int or None, default None, 1500, None
        Training length of each member: ``steps`` optimiser steps (``epochs``, when
        given, wins), the batch the power of two nearest rows / 40 in [32, 512]
        (:mod:`aekit.train.budget`), so a 478-row table and a 95,000-row one both
        train in bounded time; ``steps=None`` is the AutoEncoder's 4,000. The detector used 50 epochs of 64 rows before,
        which took up to 307 s on 22_magic.gamma.
    random_state : int, default 0
        Seeds the autoencoders' training and the sample of the kNN reference.
    verbose : bool, default False
        Show the training progress bar.
    criterion : str or None, default None
        Deprecated name of ``method``; when set it overrides ``method`` with a
        FutureWarning.

    Attributes
    ----------
    members_ : list of Member
        One per autoencoder: ``autoencoder``, the statistics of its training codes
        (``code_location``, ``code_precision``, ``knn_reference``) and the medians
        its terms are divided by (:class:`~aekit.estimators.anomaly_member.Member`).
    autoencoder_ : AutoEncoder
        Member 0's fitted autoencoder.
    method_ : str
        The method used (``method``, or ``criterion`` where that was set).
    threshold_ : float
        Scores above it are anomalies.
    offset_ : float
        ``-threshold_``, so that ``decision_function = score_samples - offset_``.
    residual_window_ : int
        The window used (``residual_window`` with "auto" resolved).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> normal = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8))
    >>> det = AnomalyDetector(epochs=5, contamination=0.05).fit(normal)
    >>> odd = normal[:5] + 25.0
    >>> bool(det.anomaly_score(odd).min() > det.threshold_)
    True
    >>> det.predict(odd).tolist()
    [-1, -1, -1, -1, -1]
    """

    def __init__(
        self,
        code_dim: int | None = None,
        *,
        method: str = "combined_knn",
        n_estimators: int = 3,
        trim: float = 0.1,
        variant: str = "plain",
        contamination: float = 0.1,
        holdout_quantile: float | None = None,
        residual_window: int | str = "auto",
        estimator: AutoEncoder | None = None,
        epochs: int | None = None,
        steps: int | None = 1500,
        batch_size: int | None = None,
        random_state: int = 0,
        verbose: bool = False,
        criterion: str | None = None,
    ):
        self.code_dim = code_dim
        self.method = method
        self.n_estimators = n_estimators
        self.trim = trim
        self.variant = variant
        self.contamination = contamination
        self.holdout_quantile = holdout_quantile
        self.residual_window = residual_window
        self.estimator = estimator
        self.epochs = epochs
        self.steps = steps
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose
        self.criterion = criterion

    # -- fitting -----------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> AnomalyDetector:
        """Train on ``X`` (n, features) or images, without labels; ``y`` is ignored."""
        self._check_params()
        if self.criterion is not None:
            warnings.warn(
                f"criterion={self.criterion!r} is deprecated: use method={self.criterion!r}",
                FutureWarning,
                stacklevel=2,
            )
        self.method_ = self.criterion if self.criterion is not None else self.method
        held_out = None
        if self.holdout_quantile is not None:
            n = _n_rows(X)
            if n < 20:
                raise ConfigError(f"holdout_quantile needs at least 20 rows to hold 10 % out, got {n}")
            order = np.random.default_rng(self.random_state).permutation(n)
            n_out = max(2, round(0.1 * n))
            held_out, X = _rows(X, np.sort(order[:n_out])), _rows(X, np.sort(order[n_out:]))
        members, scores = [], []
        for i in range(self.n_estimators):
            rows = X
            if i and self.trim > 0:  # the rows the members so far find most normal
                so_far = np.mean(scores, axis=0)
                rows = _rows(X, np.flatnonzero(so_far <= np.quantile(so_far, 1.0 - self.trim)))
            ae = self._member_autoencoder(rows, i, members[0].autoencoder if members else None).fit(rows)
            if i == 0:
                self._resolve_window(ae)
            member, train_scores = Member.fit(ae, rows, self.method_, self.residual_window_, self.random_state + i)
            if rows is not X:
                train_scores = member.score(X)
            if self.n_estimators > 1:  # each member's score in units of its own training median
                member.score_scale = positive_median(train_scores)
                train_scores = train_scores / member.score_scale
            members.append(member)
            scores.append(train_scores)
        self.members_ = members
        self.autoencoder_ = members[0].autoencoder
        self.n_features_in_ = self.autoencoder_.n_features_in_
        if held_out is None:
            self.threshold_ = float(np.quantile(np.mean(scores, axis=0), 1.0 - self.contamination))
        else:
            self.threshold_ = float(np.quantile(self.anomaly_score(held_out), self.holdout_quantile))
        self.offset_ = -self.threshold_
        return self

    def _member_autoencoder(self, X: Any, i: int, first: AutoEncoder | None) -> AutoEncoder:
        """The unfitted autoencoder of member ``i`` (``first``: member 0, fitted, once i > 0)."""
        if self.estimator is not None:
            if not isinstance(self.estimator, AutoEncoder):
                raise ConfigError(f"estimator must be an aekit.AutoEncoder, got {type(self.estimator).__name__}")
            ae = clone(self.estimator)
            return ae.set_params(random_state=ae.random_state + i) if i else ae
        table = _table_of(X)
        # A table's width is its encoded width (one-hot groups), known once its schema is.
        n_features = TableSchema.fit(table[0], name=table[1]).width if table is not None else _n_features(X) or 1
        base = self.code_dim if self.code_dim is not None else min(32, max(2, round(n_features / 4)))
        code_dim, width = member_shapes(i, base) if i else (base, 1.0)
        hidden = None
        if first is not None and width != 1.0 and len(first.model_.config.input_shape) == 1:
            hidden = tuple(max(8, round(h * width)) for h in default_hidden(n_features, code_dim))
        return AutoEncoder(
            code_dim=code_dim,
            variant=self.variant,
            hidden=hidden,
            epochs=self.epochs,
            steps=self.steps,
            batch_size=self.batch_size,
            random_state=self.random_state + i,
            verbose=self.verbose,
        )

    def _resolve_window(self, ae: AutoEncoder) -> None:
        image = len(ae.model_.config.input_shape) == 3
        if self.residual_window == "auto":
            self.residual_window_ = 3 if image else 1
        elif self.residual_window > 1 and not image:
            raise ConfigError(
                f"residual_window={self.residual_window!r} needs images (n, C, H, W); these samples "
                f"have shape {ae.input_shape_}: use 1 or 'auto'"
            )
        else:
            self.residual_window_ = self.residual_window

    def _check_params(self) -> None:
        c = self.contamination
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not (0 < c <= 0.5):
            raise ConfigError(f"contamination={c!r} must be a number in (0, 0.5]")
        q = self.holdout_quantile
        if q is not None and (isinstance(q, bool) or not isinstance(q, (int, float)) or not (0 < q < 1)):
            raise ConfigError(f"holdout_quantile={q!r} must be None or a number in (0, 1), e.g. 0.99")
        for name in ("method", "criterion"):
            value = getattr(self, name)
            if (value is not None or name == "method") and value not in METHODS:
                raise ConfigError(f"{name}={value!r} is not one of: {', '.join(METHODS)}")
        n = self.n_estimators
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100:
            raise ConfigError(f"n_estimators={n!r} must be an integer from 1 to 100")
        t = self.trim
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < 0.5:
            raise ConfigError(f"trim={t!r} must be a number in [0, 0.5), e.g. 0.1")
        w = self.residual_window
        if w != "auto" and (isinstance(w, bool) or not isinstance(w, int) or w < 1 or w % 2 == 0):
            raise ConfigError(f"residual_window={w!r} must be 'auto' or an odd positive integer (1, 3, 5, ...)")
        if self.code_dim is not None and (
            isinstance(self.code_dim, bool) or not isinstance(self.code_dim, int) or self.code_dim < 1
        ):
            raise ConfigError(f"code_dim={self.code_dim!r} must be a positive integer or None")

    # -- scoring -------------------------------------------------------------------
    def anomaly_score(self, X: Any) -> np.ndarray:
        """Higher is more unusual, shape (n,); compare with ``threshold_``.

        The mean of the members' scores (one member: its score, the sum of its terms
        each over its training median)."""
        check_is_fitted(self, "members_")
        self._check_width(X)
        return np.mean([member.score(X) for member in self.members_], axis=0)

    def score_samples(self, X: Any) -> np.ndarray:
        """scikit-learn's convention: the opposite of :meth:`anomaly_score` (lower is more abnormal)."""
        return -self.anomaly_score(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for anomalies, shape (n,)."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """1 for inliers, -1 for anomalies (score above ``threshold_``), shape (n,)."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def explain(self, X: Any) -> np.ndarray:
        """Each sample's squared reconstruction error per feature, in the model's
        (scaled) units, averaged over the members: shape (n, *sample_shape), a heat map
        for images (of the residual averaged over ``residual_window_`` neighbourhoods);
        for a table, (n, n_columns) with a categorical column's one-hot errors summed
        and NaN where the cell is missing (names in ``feature_names()``).

        For one member, summed over features (missing cells left out and the rest
        scaled up to the full width) it is the reconstruction term of the score before
        its median scaling; the code terms have no per-feature split.
        """
        check_is_fitted(self, "members_")
        self._check_width(X)
        per_feature = np.mean([m.errors(m.autoencoder._model_input(X))[0] for m in self.members_], axis=0)
        schema = getattr(self.autoencoder_, "schema_", None)
        if schema is None:
            return per_feature
        columns = np.empty((len(per_feature), len(schema.columns)))
        start = 0
        for j, column in enumerate(schema.columns):
            block = per_feature[:, start : start + column.width]
            columns[:, j] = block.sum(1) if column.width else 0.0
            if column.kind != "numeric" and column.width:
                columns[:, j] = np.where(np.isnan(block).any(1), np.nan, columns[:, j])
            start += column.width
        return columns

    def feature_names(self) -> list[str]:
        """Names of :meth:`explain`'s columns: the table's columns, else ``x0``, ``x1``, ..."""
        check_is_fitted(self, "members_")
        schema = getattr(self.autoencoder_, "schema_", None)
        if schema is not None:
            return list(schema.names)
        return [f"x{i}" for i in range(self.n_features_in_)]

    def _check_width(self, X: Any) -> None:
        if _table_of(X) is None:  # a table's own schema check names bad columns
            n_features = _n_features(X)
            if n_features is not None and n_features != self.n_features_in_:
                raise DataError(
                    f"X has {n_features} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input"
                )


def _n_features(X: Any) -> int | None:
    shape = (X.x if isinstance(X, Dataset) else _to_numpy(X)).shape
    if len(shape) < 2:
        return None  # not a batch of samples: the autoencoder says how to reshape it
    return int(math.prod(shape[1:]))


def _n_rows(X: Any) -> int:
    return len(X) if isinstance(X, Dataset) or _table_of(X) is not None else len(_to_numpy(X))


def _rows(X: Any, idx: np.ndarray) -> Any:
    """The rows ``idx`` of a Dataset, DataFrame or array-like."""
    if isinstance(X, Dataset):
        return X.subset(idx)
    if _table_of(X) is not None:
        return X.iloc[idx]
    return _to_numpy(X)[idx]
