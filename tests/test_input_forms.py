"""Bad input (issue 16): every form of X works, or fails with a message naming the value.

Each accepted form (integer and bool dtypes, float16 and float64, Fortran order, strided
and reversed views, tensors, lists) goes through ``AutoEncoder.fit``, ``transform``,
``reconstruct``, ``score``, save/load and ``AnomalyDetector`` fit/score, and gives
exactly what the float32 C-ordered array of the same values gives. Constant columns
and all-zero images work and keep every output finite; what holds no real numbers is
refused by its first bad value.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import aekit
from aekit.errors import DataError

RNG = np.random.default_rng(0)
TABLE = RNG.random((60, 6)).astype(np.float32)
COUNTS = RNG.integers(0, 5, size=(60, 6))
IMAGES = RNG.random((40, 1, 8, 8)).astype(np.float32)


def _reference(x: Any) -> np.ndarray:
    """The float32 C-ordered array of the same values."""
    if isinstance(x, torch.Tensor):
        x = x.float().numpy()
    return np.ascontiguousarray(np.asarray(x), dtype=np.float32)


#: name -> the form of X; each must give what its float32 C-ordered reference gives.
FORMS: dict[str, Callable[[], Any]] = {
    "fortran": lambda: np.asfortranarray(TABLE),
    "transposed_copy": lambda: TABLE.T.copy().T,
    "strided_columns": lambda: np.repeat(TABLE, 2, axis=1)[:, ::2],
    "reversed_rows": lambda: TABLE[::-1],
    "float64": lambda: TABLE.astype(np.float64),
    "float16": lambda: TABLE.astype(np.float16),
    "int8": lambda: COUNTS.astype(np.int8),
    "uint8": lambda: COUNTS.astype(np.uint8),
    "int64": lambda: COUNTS.astype(np.int64),
    "bool": lambda: COUNTS > 2,
    "list": lambda: TABLE.astype(np.float64).tolist(),
    "tensor_float64": lambda: torch.from_numpy(TABLE).double(),
    "tensor_bfloat16": lambda: torch.from_numpy(TABLE).bfloat16(),
    "fortran_images": lambda: np.asfortranarray(IMAGES),
    "strided_images": lambda: np.repeat(IMAGES, 2, axis=3)[..., ::2],
    "uint8_images": lambda: (IMAGES * 255).astype(np.uint8),
    "bool_images": lambda: IMAGES > 0.5,
}


def _fit(x: Any) -> aekit.AutoEncoder:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # code_dim vs width and range warnings: not what is tested here
        return aekit.AutoEncoder(code_dim=2, epochs=2).fit(x)


def _detector(x: Any) -> aekit.AnomalyDetector:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return aekit.AnomalyDetector(code_dim=2, epochs=2).fit(x)


@cache
def _fitted_reference(name: str) -> tuple[aekit.AutoEncoder, aekit.AnomalyDetector]:
    ref = _reference(FORMS[name]())
    return _fit(ref), _detector(ref)


def _outputs(est: aekit.AutoEncoder, x: Any) -> tuple[np.ndarray, np.ndarray, float]:
    return est.transform(x), est.reconstruct(x), est.score(x)


@pytest.mark.filterwarnings("ignore:.*0-255:UserWarning")  # the float32 references of uint8 pixels
@pytest.mark.parametrize("name", list(FORMS))
def test_form_gives_what_float32_c_order_gives(name: str, tmp_path: Path) -> None:
    x = FORMS[name]()
    ref = _reference(x)
    est_ref, det_ref = _fitted_reference(name)
    codes_ref, recon_ref, score_ref = _outputs(est_ref, ref)

    est = _fit(x)
    codes, recon, score = _outputs(est, x)
    np.testing.assert_array_equal(codes, codes_ref)
    np.testing.assert_array_equal(recon, recon_ref)
    assert score == score_ref
    assert recon.dtype == np.float32 and recon.shape == ref.shape
    assert np.isfinite(codes).all() and np.isfinite(recon).all() and np.isfinite(score)
    # A model fitted on the reference reads this form as the reference.
    np.testing.assert_array_equal(est_ref.transform(x), codes_ref)

    # Nothing saved is lost.
    est.save(tmp_path / "model")
    loaded = aekit.load(tmp_path / "model")
    for a, b in zip(_outputs(loaded, x), (codes, recon, score)):
        np.testing.assert_array_equal(a, b)

    det = _detector(x)
    scores = det.anomaly_score(x)
    np.testing.assert_array_equal(scores, det_ref.anomaly_score(ref))
    np.testing.assert_array_equal(det.predict(x), det_ref.predict(ref))
    det.save(tmp_path / "detector")
    np.testing.assert_array_equal(aekit.AnomalyDetector.load(tmp_path / "detector").anomaly_score(x), scores)


def test_the_forms_do_not_alter_the_callers_array() -> None:
    for x in (TABLE.copy(), IMAGES.copy(), COUNTS.astype(np.uint8)):
        before = x.copy()
        est = _fit(x)
        est.transform(x), est.reconstruct(x), est.score(x), est.evaluate(x)
        _detector(x).anomaly_score(x)
        np.testing.assert_array_equal(x, before)


def _constant_column() -> np.ndarray:
    x = TABLE.copy()
    x[:, 2] = 3.0
    return x


def _one_zero_image() -> np.ndarray:
    x = IMAGES.copy()
    x[0] = 0.0
    return x


DEGENERATE: dict[str, Callable[[], np.ndarray]] = {
    "constant_column": _constant_column,
    "constant_table": lambda: np.full((60, 6), 2.5, np.float32),
    "one_zero_image": _one_zero_image,
    "all_zero_images": lambda: np.zeros((40, 1, 8, 8), np.float32),
    "all_zero_table": lambda: np.zeros((60, 6), np.float32),
}


@pytest.mark.parametrize("name", list(DEGENERATE))
def test_degenerate_data_works_and_stays_finite(name: str, tmp_path: Path) -> None:
    x = DEGENERATE[name]()
    est = _fit(x)
    codes, recon, score = _outputs(est, x)
    assert np.isfinite(codes).all() and np.isfinite(recon).all() and np.isfinite(score)
    assert recon.shape == x.shape
    constant = np.ptp(x.reshape(len(x), -1), axis=0) == 0  # columns (pixels) that never change
    # A column that never changes is reconstructed near its value (its scaled value is 0).
    np.testing.assert_allclose(recon.reshape(len(x), -1)[:, constant], x.reshape(len(x), -1)[:, constant], atol=0.5)
    est.save(tmp_path / "model")
    for a, b in zip(_outputs(aekit.load(tmp_path / "model"), x), (codes, recon, score)):
        np.testing.assert_array_equal(a, b)
    det = _detector(x)
    scores = det.anomaly_score(x)
    assert np.isfinite(scores).all()
    det.save(tmp_path / "detector")
    np.testing.assert_array_equal(aekit.AnomalyDetector.load(tmp_path / "detector").anomaly_score(x), scores)


def _masked() -> np.ma.MaskedArray:
    x = np.ma.masked_array(TABLE.astype(np.float64), mask=np.zeros(TABLE.shape, bool))
    x[3, 4] = np.ma.masked
    return x


def _with_none() -> np.ndarray:
    x = TABLE.astype(object)
    x[2, 1] = None
    return x


#: name -> (X, what its error must say: the bad value and where it is)
REFUSED: dict[str, tuple[Callable[[], Any], str]] = {
    "text": (lambda: np.full((10, 2), "a"), r"X holds text \(<U1\), not real numbers: X\[0, 0\] = 'a'"),
    "numeric_text": (lambda: TABLE.astype(str), r"X holds text .*X\[0, 0\] = '0\.\d+'"),
    "bytes": (lambda: np.full((10, 2), b"1"), r"X\[0, 0\] = b'1'"),
    "text_in_objects": (lambda: np.array([[1.0, 2.0]] * 4 + [[1.0, "x"]], dtype=object), r"X\[4, 1\] = 'x'"),
    "dates": (
        lambda: np.array([["2020-01-01", "2020-01-02"]] * 5, dtype="datetime64[D]"),
        r"dates or durations \(datetime64\[D\]\).*X\[0, 0\] = 2020-01-01",
    ),
    "durations": (lambda: np.arange(10).reshape(5, 2).astype("timedelta64[s]"), r"dates or durations"),
    "none": (_with_none, r"X\[2, 1\] is None"),
    "ragged": (lambda: [[1.0, 2.0], [3.0, 4.0], [5.0]], r"X is ragged: row 0 holds 2 values, row 2 holds 1"),
    "masked": (_masked, r"masked array with 1 masked value\(s\), the first at X\[3, 4\]"),
    "complex": (lambda: TABLE.astype(np.complex64), r"Complex data"),
    "float16_inf": (lambda: np.where(np.eye(6, dtype=bool)[:1], np.inf, TABLE).astype(np.float16), r"column 0 is inf"),
    "float64_nan": (lambda: np.where(TABLE > 0.99, np.nan, TABLE), r"is NaN"),
    "beyond_float32": (lambda: np.full((10, 2), 1e300), r"X\[0, 0\] = .*1e\+300.* too large for float32"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_forms_name_the_value(name: str) -> None:
    make, message = REFUSED[name]
    with pytest.raises(DataError, match=message):
        _fit(make())
    with pytest.raises(DataError, match=message):
        _detector(make())
    est_ref, det_ref = _fitted_reference("fortran")  # a model of 6 features
    x = make()
    if np.shape(np.asarray(x, dtype=object) if name == "ragged" else x)[-1:] == (6,):
        for use in (est_ref.transform, est_ref.reconstruct, est_ref.score, det_ref.anomaly_score):
            with pytest.raises(DataError, match=message):
                use(x)


def test_uint8_images_do_not_warn_about_0_255() -> None:
    """Whole-number pixels are divided by their range at fit: no advice to divide by 255."""
    x = (IMAGES * 255).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*0-255")
        est = aekit.AutoEncoder(code_dim=2, epochs=2).fit(x)
        est.transform(x)
    assert est.decisions_.scaling == "minmax"
    with pytest.warns(UserWarning, match="0-255"):  # fractional values beyond 1 are left as they are
        aekit.AutoEncoder(code_dim=2, epochs=2).fit(IMAGES * 255)
