"""The table path of :class:`~aekit.AutoEncoder`: a schema learned from a DataFrame,
one-hot groups with cross-entropy, masked missing cells, and imputation.

A mixin, so the estimator reads in one sitting; everything here uses the
estimator's fitted attributes (``schema_``, ``preprocessing_``, ``model_``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from aekit.data import Dataset, check_array
from aekit.errors import ConfigError, DataError, ModelFileError
from aekit.model import map_batches


class TableMixin:
    """Adds :meth:`impute` and the schema helpers to the estimator."""

    def impute(self, X: Any, n_iter: int | None = None) -> Any:
        """Fill the missing cells of a table, keeping the observed ones exactly.

        Parameters
        ----------
        X : pandas.DataFrame or aekit.data.Dataset
            A table with the columns the model was fitted on; NaN or None cells
            are missing.
        n_iter : int, optional
            Passes: the first reads a missing cell as the column mean (0 after
            scaling) and a missing category as an all-zero group, as training
            did; each further pass feeds the previous fill back in as the input.
            None: 1 for a model trained with ``corruption="mask"`` (it learned to
            fill zeroed cells directly; iterating moved it away: RMSE 0.45 ->
            0.47 -> 0.75 after 1, 3, 10 passes), else 3 (a plain model's fill
            improves: 0.58 -> 0.45; 20 % of the cells of an 8-column mixed table
            missing, column-mean imputation 0.95, in standard deviations).

        Returns
        -------
        pandas.DataFrame
            Same rows and columns, no missing cell: numbers from the
            reconstruction (rounded for integer columns), categories and booleans
            the most likely one.

        Examples
        --------
        >>> import pandas as pd
        >>> from aekit import AutoEncoder
        >>> rng = np.random.default_rng(0)
        >>> t = rng.normal(size=200)
        >>> frame = pd.DataFrame({"a": t, "b": 2 * t, "sign": np.where(t > 0, "pos", "neg")})
        >>> ae = AutoEncoder(code_dim=1, epochs=40, batch_size=32).fit(frame)
        >>> gaps = pd.DataFrame({"a": [1.0, None], "b": [None, -2.0], "sign": [None, "neg"]})
        >>> filled = ae.impute(gaps)
        >>> filled.isna().any().any(), filled.loc[0, "sign"], filled.loc[1, "sign"]
        (np.False_, 'pos', 'neg')
        """
        check_is_fitted(self, "model_")
        table = _table_of(X)
        if table is None or getattr(self, "schema_", None) is None:
            raise DataError(
                "impute needs a table (pandas DataFrame or a Dataset read from CSV/Parquet) and a model fitted on one"
            )
        if n_iter is None:
            n_iter = 1 if self.model_.config.corruption == "mask" else 3
        if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 1:
            raise ConfigError(f"n_iter={n_iter!r} must be a positive integer")
        frame, name = table
        xs = torch.from_numpy(self.preprocessing_.transform(self._encode_table(frame, name)))
        observed = ~torch.isnan(xs)  # (n, width); a missing category's group is all zeros, and observed
        groups = self.schema_.categorical
        given = torch.zeros(len(xs), dtype=torch.bool)
        filled = xs
        with torch.no_grad():
            for _ in range(n_iter):
                recon = map_batches(self.model_.reconstruct, filled)
                filled = torch.where(observed, xs, recon)
                for start, size in groups:  # a missing category: all zeros in the input
                    given = xs[:, start : start + size].sum(1) > 0
                    filled[:, start : start + size] = torch.where(
                        given[:, None], xs[:, start : start + size], recon[:, start : start + size]
                    )
        decoded = self.schema_.decode(self.preprocessing_.inverse_transform(filled.numpy()))
        frame = self.schema_.check(frame, name=name)
        out = frame.copy()
        gaps = frame.isna()
        for column in self.schema_.names:
            if gaps[column].any():
                out[column] = frame[column].where(~gaps[column], decoded[column])
                if self.schema_.columns[self.schema_.names.index(column)].integer:
                    out[column] = out[column].astype("int64")
        return out

    def _fit_schema(self, frame: Any, name: str) -> np.ndarray:
        """Learn ``schema_`` from a training table and encode it: (n, width), NaN where missing."""
        from aekit.data import TableSchema

        if self.input_shape is not None:
            raise ConfigError(f"input_shape={self.input_shape!r} applies to arrays; a table's columns set its shape")
        self.schema_ = TableSchema.fit(frame, name=name)
        self.feature_names_in_ = np.asarray(self.schema_.names, dtype=object)
        return self._encode_table(frame, name)

    def _encode_table(self, frame: Any, name: str) -> np.ndarray:
        x = self.schema_.encode(frame, name=name)
        return check_array(x, name=name, kind="table", allow_missing=True)

    def _table_overrides(self, loss: str) -> dict[str, Any]:
        """Model options the schema dictates: its one-hot groups, cross-entropy, masking."""
        groups = self.schema_.categorical or None
        if groups is None:
            return {"missing": True}
        if loss != "ce" and self.loss is not None:
            raise ConfigError(
                f"loss={self.loss!r}: this table has boolean or categorical columns "
                f"{[c.name for c in self.schema_.columns if c.kind != 'numeric']}, which need "
                "loss='ce' (cross-entropy on their one-hot groups); leave loss unset"
            )
        if self.categorical is not None and tuple(tuple(g) for g in self.categorical) != groups:
            raise ConfigError(
                f"categorical={self.categorical!r} does not match the table's one-hot groups "
                f"{list(groups)}; leave categorical unset for tables"
            )
        return {"loss": "ce", "categorical": groups, "missing": True}


def _is_frame(X: Any) -> bool:
    pandas = sys.modules.get("pandas")  # never imported here just to ask
    return pandas is not None and isinstance(X, pandas.DataFrame)


def _table_of(X: Any) -> tuple[Any, str] | None:
    """(frame, name) for a DataFrame or a Dataset read from a table file, else None."""
    if _is_frame(X):
        return X, "X"
    if isinstance(X, Dataset) and X.frame is not None:
        return X.features(), X.name
    return None


def _load_schema(data: dict, n_features: int, source: Path):
    """The table schema saved in config.json's data record, checked against the model's width."""
    if "table" not in data:
        return None
    from aekit.data import TableSchema

    schema = TableSchema.from_dict(data["table"], str(source))
    if schema.width != n_features:
        raise ModelFileError(f"{source}: the table schema encodes {schema.width} features, the model {n_features}")
    return schema
