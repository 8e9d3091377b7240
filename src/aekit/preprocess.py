"""Input scaling learned at fit time and saved in the model directory.

Images arrive in [0, 1] and are used as they are. Table columns are
standardised (mean 0, standard deviation 1) so that no column dominates the
squared error by its units alone; a constant column keeps scale 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aekit.errors import ModelFileError


@dataclass
class Preprocessing:
    """Per-feature affine scaling: ``model_input = (x - shift) / scale``.

    Examples
    --------
    >>> p = Preprocessing.fit(np.array([[0.0, 5.0], [2.0, 5.0]]), method="standard")
    >>> p.transform(np.array([[1.0, 5.0]]))
    array([[0., 0.]], dtype=float32)
    """

    method: str = "none"  # "none" or "standard"
    shift: np.ndarray | None = None  # (n_features,) or None for the identity
    scale: np.ndarray | None = None

    @classmethod
    def fit(cls, x: np.ndarray, method: str, keep: np.ndarray | None = None) -> Preprocessing:
        """Learn the scaling of ``x`` (n, ...); ``keep`` (n_features,) bool marks
        features left as they are (one-hot columns, which are cross-entropy targets).

        Examples
        --------
        >>> p = Preprocessing.fit(np.array([[0.0, 1.0], [2.0, 0.0]]), "standard", keep=np.array([False, True]))
        >>> p.transform(np.array([[2.0, 1.0]]))
        array([[1., 1.]], dtype=float32)
        """
        if method == "none":
            return cls(method)
        flat = x.reshape(len(x), -1)
        shift = flat.mean(0, dtype=np.float64)
        scale = flat.std(0, dtype=np.float64)
        scale[~(scale > 1e-8)] = 1.0  # constant columns: nothing to scale
        if keep is not None:
            shift[keep], scale[keep] = 0.0, 1.0
        return cls(method, shift.astype(np.float32), scale.astype(np.float32))

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.shift is None:
            return x
        return ((x.reshape(len(x), -1) - self.shift) / self.scale).reshape(x.shape).astype(np.float32)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.shift is None:
            return x
        return (x.reshape(len(x), -1) * self.scale + self.shift).reshape(x.shape).astype(np.float32)

    def to_dict(self) -> dict:
        out: dict = {"method": self.method}
        if self.shift is not None:
            out["shift"] = self.shift.tolist()
            out["scale"] = self.scale.tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict, n_features: int, source: str = "config.json") -> Preprocessing:
        try:
            method = data["method"]
            if method not in ("none", "standard"):
                raise ValueError(f"method={method!r} is not one of: none, standard")
            if method == "none":
                return cls(method)
            shift = np.asarray(data["shift"], dtype=np.float32)
            scale = np.asarray(data["scale"], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{source}: preprocessing section is malformed ({exc})") from None
        if shift.shape != (n_features,) or scale.shape != (n_features,) or not np.all(scale > 0):
            raise ModelFileError(f"{source}: preprocessing needs {n_features} shifts and positive scales, "
                                 f"got {shift.shape} and {scale.shape}")
        return cls(method, shift, scale)
