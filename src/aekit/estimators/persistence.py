"""Saving and loading an AutoEncoder as a model directory (:mod:`aekit.io`): a mixin, so the
estimator reads in one sitting. Nothing is unpickled; a model's own networks are imported
only from the modules ``trust_code`` names."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from aekit import io
from aekit.config import DataConfig
from aekit.config.options import options
from aekit.errors import ModelFileError
from aekit.estimators.tables import _load_schema
from aekit.fitting.decide import Decisions

# The model options a variant preset may fill when left as None, and a directory restores: every model
# option of the option table but the two every model states (code size and variant).
_MODEL_OPTIONS = tuple(o.param for o in options() if o.group == "model" and o.name not in ("code_dim", "variant"))


class ModelDirMixin:
    """Adds :meth:`save` and :meth:`load` to the estimator."""

    def save(self, path: str | Path, *, metrics: dict | None = None, data: dict | None = None) -> Path:
        """Write the model directory (config.json, model.safetensors, history.json, metrics.json)."""
        check_is_fitted(self, "model_")
        record = {"kind": self.kind_, "sample_shape": list(self._output_shape()), **(data or {})}
        if getattr(self, "schema_", None) is not None:
            record["table"] = self.schema_.to_dict()  # config.json: the columns new tables must have
        if getattr(self, "decisions_", None) is not None:
            record["decisions"] = self.decisions_.to_dict()  # what the fit decided about the data, and why
        saved = io.SavedModel(
            self.model_,
            self.train_config(),
            self.preprocessing_,
            self.pca_,
            self.history_,
            metrics or {},
            record,
            self.data_config(),
        )
        return io.save(path, saved)

    @classmethod
    def load(cls, path: str | Path, trust_code: Any = None) -> Any:
        """Load a model directory; nothing is unpickled. ``trust_code``: the modules a model's
        own encoder/decoder may be imported from, as for :func:`aekit.load` (none by default).

        Examples
        --------
        >>> import tempfile
        >>> from aekit import AutoEncoder
        >>> X = np.random.default_rng(0).random((50, 6))
        >>> ae = AutoEncoder(code_dim=2, epochs=1).fit(X)
        >>> again = AutoEncoder.load(ae.save(tempfile.mkdtemp() + "/m"))
        >>> bool(np.allclose(again.transform(X), ae.transform(X)))
        True
        """
        saved = io.load(path, trust_code=trust_code)
        mc, tc = saved.model.config, saved.train_config
        # A directory written before the data options were recorded: its scaling statistics say "robust".
        dc = saved.data_config or DataConfig(scaling="robust" if saved.preprocessing.method == "robust" else "auto")
        est = cls(
            code_dim=mc.code_dim,
            variant=mc.variant,
            **{name: getattr(mc, name) for name in _MODEL_OPTIONS},
            kind=dc.kind,
            scaling=dc.scaling,
            epochs=tc.epochs,
            steps=tc.steps,
            warmup=tc.warmup,
            input_shape=dc.input_shape,
            batch_size=tc.batch_size,
            lr=tc.lr,
            optimizer=tc.optimizer,
            weight_decay=tc.weight_decay,
            schedule=tc.schedule,
            val_fraction=tc.val_fraction,
            patience=tc.patience,
            random_state=tc.seed,
            device=tc.device,
            precision=tc.precision,
        )
        est.model_ = saved.model
        est.preprocessing_ = saved.preprocessing
        est.pca_ = saved.pca
        est.history_ = saved.history
        est.metrics_ = saved.metrics
        est.data_ = saved.data
        est.input_shape_ = mc.input_shape
        est.n_features_in_ = mc.n_features
        est.kind_ = saved.data.get("kind", "image" if len(mc.input_shape) == 3 else "table")
        est.schema_ = _load_schema(saved.data, mc.n_features, Path(path) / io.CONFIG)
        if est.schema_ is not None:
            est.feature_names_in_ = np.asarray(est.schema_.names, dtype=object)
        est.n_iter_ = len(saved.history)
        est.decisions_ = _decisions(saved.data, Path(path) / io.CONFIG)
        est.sample_shape_ = _sample_shape(saved.data, mc.input_shape, Path(path) / io.CONFIG)
        return est


def _decisions(data: dict[str, Any], source: Path) -> Decisions | None:
    """The fit's decisions recorded in config.json's data record (None in directories written before them)."""
    if "decisions" not in data:
        return None
    try:
        return Decisions.from_dict(data["decisions"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFileError(f"{source}: the data record's decisions are malformed ({exc})") from None


def _sample_shape(data: dict[str, Any], input_shape: tuple[int, ...], source: Path) -> tuple[int, ...]:
    """The shape samples arrived in (the model's own in directories written before it was recorded)."""
    shape = data.get("sample_shape")
    if shape is None:
        return tuple(input_shape)
    try:
        out = tuple(int(v) for v in shape)
    except (TypeError, ValueError):
        raise ModelFileError(f"{source}: sample_shape={shape!r} must be a list of integers") from None
    if math.prod(out) != math.prod(input_shape) or any(v <= 0 for v in out):
        raise ModelFileError(
            f"{source}: sample_shape={list(out)} does not hold the model's {math.prod(input_shape)} values"
        )
    return out
