"""The explorer's preset inputs and label names, read from the data set."""

from __future__ import annotations

import numpy as np

from aekit.data import Dataset


def preset_inputs(ds: Dataset, per_label: int = 3, max_presets: int = 30) -> list[tuple[str, int | None, np.ndarray]]:
    """(name, label, x) per preset button: shapes12's clean examples, else a few samples of each label."""
    if ds.name.startswith("builtin:shapes12") and ds.sample_shape == (1, 12, 12):
        from aekit.data import shapes12_presets

        return [(name, label, x) for label, (name, x) in enumerate(shapes12_presets().items())]
    if ds.y is None:
        return [(f"sample {i}", None, ds.x[i]) for i in range(min(12, len(ds)))]
    out = []
    for label in np.unique(ds.y)[: max_presets // per_label]:
        rows = np.flatnonzero(ds.y == label)[:per_label]
        out += [(f"{label_name(ds, int(label))} #{k + 1}", int(label), ds.x[row]) for k, row in enumerate(rows)]
    return out


def label_names(ds: Dataset) -> list[str] | None:
    return None if ds.y is None else [label_name(ds, v) for v in range(int(ds.y.max()) + 1)]


def label_name(ds: Dataset, label: int | None) -> str | None:
    if label is None:
        return None
    names = ds.label_names
    return names[label] if names and 0 <= label < len(names) else str(label)
