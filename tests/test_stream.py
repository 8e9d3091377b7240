"""Data bigger than memory: chunked .npy/Parquet reading, the streaming batch source,
one-pass statistics, streaming fit/encode/score, all on tiny files read in small chunks."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import aekit.data.row_stream as row_stream_module
from aekit import AnomalyDetector, AutoEncoder
from aekit.analysis.baselines import PCABaseline
from aekit.cli import main
from aekit.data import load
from aekit.data.scaling import Preprocessing
from aekit.data.stream import HashSelect, StreamingBatches, open_stream
from aekit.errors import DataError, TrainingInterrupted
from aekit.estimators.streaming import transform_stream
from aekit.io.arrays import array_writer


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def low_rank(n=600, d=12, seed=0, offset=0.0):
    """Rows near a 3-D subspace in mixed units, (n, d) float32."""
    rng = np.random.default_rng(seed)
    x = np.tanh(rng.normal(size=(n, 3)) @ rng.normal(size=(3, d))) + 0.02 * rng.normal(size=(n, d))
    return (x * np.arange(1, d + 1) + offset).astype(np.float32)


def epoch(source, seed=0, batch_size=8):
    return list(source.batches(torch.Generator().manual_seed(seed), batch_size, torch.device("cpu")))


# -- reading -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "array",
    [
        np.random.default_rng(0).normal(size=(53, 5)),  # float64 table
        np.random.default_rng(1).integers(0, 256, size=(41, 6, 6), dtype=np.uint8),  # grey images
        np.random.default_rng(2).integers(0, 256, size=(23, 5, 5, 3), dtype=np.uint8),  # channels last
        np.random.default_rng(3).integers(0, 200, size=(30, 1, 4, 4)).astype(np.int16),  # scale set by the whole file
    ],
    ids=["table", "grey", "channels-last", "int16"],
)
def test_chunked_npy_reads_equal_the_loaded_array(tmp_path, array):
    path = tmp_path / "x.npy"
    np.save(path, array)
    s = open_stream(path, chunk_rows=7)
    expected = load(path).x
    assert len(s) == len(expected) and s.sample_shape == expected.shape[1:] and s.kind == load(path).kind
    np.testing.assert_array_equal(s.read(), expected)
    assert [len(x) for _, x in s.chunks()][:2] == [7, 7]
    np.testing.assert_array_equal(open_stream(path, chunk_rows=4, limit=10).read(), expected[:10])


def test_parquet_reads_numeric_columns_in_chunks_without_the_label(tmp_path):
    frame = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50) * 2, "label": np.arange(50) % 2})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, row_group_size=16)
    s = open_stream(path, chunk_rows=5)
    assert s.columns == ["a", "b"] and len(s.blocks()) == 4
    np.testing.assert_array_equal(s.read(), load(path).x)
    assert max(len(x) for _, x in s.chunks()) == 5
    assert len(open_stream(path, limit=20).read()) == 20


def test_split_matches_the_in_memory_split(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(200.0).reshape(100, 2))
    train, test = open_stream(path, chunk_rows=9).split(test_size=0.2, seed=3)
    ds_train, ds_test = load(path).split(test_size=0.2, seed=3)
    np.testing.assert_array_equal(train.read(), ds_train.x)
    np.testing.assert_array_equal(test.read(), ds_test.x)


# -- the batch source --------------------------------------------------------------------
def test_every_row_appears_once_per_epoch_with_a_small_buffer(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(103, dtype=np.float32)[:, None])
    source = StreamingBatches(open_stream(path, chunk_rows=7, buffer_rows=20))
    generator = torch.Generator().manual_seed(0)
    orders = []
    for _ in range(2):
        batches = list(source.batches(generator, 8, torch.device("cpu")))
        assert [len(b) for b in batches] == [8] * 12 + [7]  # only the last batch is short
        rows = torch.cat(batches)[:, 0].tolist()
        assert sorted(rows) == list(range(103))
        orders.append(rows)
    assert orders[0] != orders[1] and orders[0] != sorted(orders[0])


def test_a_view_streams_only_its_rows(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(500, dtype=np.float32)[:, None])
    kept = open_stream(path, chunk_rows=16).where(HashSelect(0, 0.2, 1.0))
    expected = [r for r in range(500) if not HashSelect(0, 0.0, 0.2)(np.array([r]))[0]]
    assert len(kept) == len(expected)
    assert sorted(torch.cat(epoch(StreamingBatches(kept)))[:, 0].tolist()) == expected


def test_seeded_batches_repeat_and_other_seeds_differ(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).random((90, 3)).astype(np.float32))
    source = StreamingBatches(open_stream(path, chunk_rows=8, buffer_rows=24), transform=lambda x: 2 * x)
    a, b, c = epoch(source, 1), epoch(source, 1), epoch(source, 2)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(torch.cat(a), torch.cat(c))
    assert torch.cat(a).max() > 1  # the transform was applied


# -- statistics ------------------------------------------------------------------------
@pytest.mark.parametrize("scaling", ["standard", "robust"])
def test_streamed_scaling_and_pca_match_in_memory(tmp_path, scaling):
    x = low_rank(offset=1000.0)  # a large mean: the streamed covariance must not lose the spread
    path = tmp_path / "x.npy"
    np.save(path, x)
    streamed = AutoEncoder(code_dim=3, epochs=1, scaling=scaling).fit(open_stream(path, chunk_rows=50))
    expected = Preprocessing.fit(x, scaling)
    np.testing.assert_allclose(streamed.preprocessing_.shift, expected.shift, rtol=1e-6)
    np.testing.assert_allclose(streamed.preprocessing_.scale, expected.scale, rtol=1e-4)
    pca = PCABaseline(3).fit(expected.transform(x))
    np.testing.assert_allclose(streamed.pca_.components_, pca.components_, atol=1e-4)
    np.testing.assert_allclose(streamed.pca_.explained_variance_, pca.explained_variance_, rtol=1e-4)
    np.testing.assert_allclose(streamed.pca_.mean_, pca.mean_, atol=1e-4)


def test_streaming_training_is_close_to_in_memory(tmp_path):
    x = low_rank(n=1500, d=16, seed=4)
    path = tmp_path / "x.npy"
    np.save(path, x)
    options = dict(code_dim=3, epochs=12, batch_size=64, random_state=0)
    in_memory = AutoEncoder(**options).fit(x)
    streamed = AutoEncoder(**options).fit(open_stream(path, chunk_rows=100, buffer_rows=300))
    mse_memory, mse_stream = -in_memory.score(x), -streamed.score(x)
    pca_mse = streamed.pca_.reconstruction_error(streamed.preprocessing_.transform(x)).mean()
    assert mse_stream < 1.3 * mse_memory and mse_stream < pca_mse
    assert streamed.history_[-1]["val"] is not None and len(streamed.history_) == 12


def test_streaming_fit_resumes_exactly(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, low_rank(n=400, d=8))
    options = dict(code_dim=2, epochs=4, batch_size=32, random_state=1)

    def stream():
        return open_stream(path, chunk_rows=30, buffer_rows=90)

    whole = AutoEncoder(**options).fit(stream())

    def stop_after_2(record, model):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted):
        AutoEncoder(**options, checkpoint_dir=tmp_path / "ck").fit(stream(), on_epoch_end=stop_after_2)
    resumed = AutoEncoder(**options, checkpoint_dir=tmp_path / "ck", resume=True).fit(stream())
    for name, value in whole.model_.state_dict().items():
        assert torch.equal(value, resumed.model_.state_dict()[name]), name
    assert [r["train"]["loss"] for r in resumed.history_] == [r["train"]["loss"] for r in whole.history_]


# -- encode, score, evaluate ---------------------------------------------------------------
@pytest.fixture
def small_chunks(monkeypatch):
    """The CLI's default chunk: 64 rows (the minimum), so tiny files span several chunks."""
    monkeypatch.setattr(row_stream_module, "CHUNK_BYTES", 1)  # RowStream reads it there


def test_encode_streams_to_the_same_codes(tmp_path, small_chunks):
    x = low_rank(n=300, d=10)
    np.save(tmp_path / "x.npy", x)
    ae = AutoEncoder(code_dim=3, epochs=2).fit(x)
    ae.save(tmp_path / "m")
    expected = AutoEncoder.load(tmp_path / "m").transform(x)
    run("encode", tmp_path / "m", tmp_path / "x.npy", "-o", tmp_path / "c.npy")
    np.testing.assert_allclose(np.load(tmp_path / "c.npy"), expected, rtol=1e-6, atol=1e-6)
    run("encode", tmp_path / "m", tmp_path / "x.npy", "-o", tmp_path / "c.csv")
    from_csv = pd.read_csv(tmp_path / "c.csv")
    assert list(from_csv.columns) == ["z0", "z1", "z2"]
    np.testing.assert_allclose(from_csv.to_numpy(), expected, rtol=1e-5, atol=1e-6)
    chunks = list(transform_stream(ae, open_stream(tmp_path / "x.npy")))
    assert len(chunks) == 5 and np.allclose(np.concatenate(chunks), expected, atol=1e-6)


def test_encode_streams_parquet_through_a_table_model(tmp_path, small_chunks):
    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    frame = pd.DataFrame({"a": t, "b": 2 * t + 0.1 * rng.normal(size=200), "sign": np.where(t > 0, "pos", "neg")})
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=70)
    AutoEncoder(code_dim=2, epochs=2).fit(frame).save(tmp_path / "m")
    expected = AutoEncoder.load(tmp_path / "m").transform(frame)
    run("encode", tmp_path / "m", tmp_path / "t.parquet", "-o", tmp_path / "c.npy")
    np.testing.assert_allclose(np.load(tmp_path / "c.npy"), expected, rtol=1e-6, atol=1e-6)


def test_score_streams_to_the_same_csv(tmp_path, small_chunks):
    x = low_rank(n=300, d=6)
    x[:5] += 30.0
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "x.npz", x=x)  # .npz is read in memory: the reference
    AnomalyDetector(epochs=3, contamination=0.05).fit(x).save(tmp_path / "det")
    run("score", tmp_path / "det", tmp_path / "x.npy", "-o", tmp_path / "s.csv", "--top", "2")
    run("score", tmp_path / "det", tmp_path / "x.npz", "-o", tmp_path / "ref.csv", "--top", "2")
    streamed, reference = (list(csv.reader(open(tmp_path / f))) for f in ("s.csv", "ref.csv"))
    assert streamed[0] == reference[0] and len(streamed) == 301
    for a, b in zip(streamed[1:], reference[1:]):
        assert a[0] == b[0] and a[2] == b[2] and a[3:] == b[3:]
        assert float(a[1]) == pytest.approx(float(b[1]), rel=1e-5)
    assert all(row[2] == "1" for row in streamed[1:6])


def test_detector_scores_in_blocks_as_in_one(monkeypatch):
    import aekit.estimators.anomaly_member

    x = low_rank(n=200, d=6)
    det = AnomalyDetector(epochs=2).fit(x)
    whole = det.anomaly_score(x)
    monkeypatch.setattr(aekit.estimators.anomaly_member, "SCORE_ROWS", 64)
    np.testing.assert_allclose(det.anomaly_score(x), whole, rtol=1e-6)


def test_cli_fit_stream_end_to_end(tmp_path, small_chunks):
    np.save(tmp_path / "x.npy", low_rank(n=500, d=8))
    out = run(
        "fit", tmp_path / "x.npy", "-o", tmp_path / "m", "--stream", "--code-dim", "2", "--epochs", "3", "--quiet"
    ).output
    assert "PCA-2 MSE" in out
    in_memory = run("evaluate", tmp_path / "m", tmp_path / "x.npy", "--json").output
    assert "the 100 rows aekit fit held out" in in_memory  # the same seeded split, loaded
    refused = run(
        "fit", tmp_path / "x.npy", "-o", tmp_path / "m2", "--stream", "--report", tmp_path / "r.html", ok=False
    )
    assert refused.exit_code == 1 and "--stream" in refused.output


def test_streamed_evaluate_equals_in_memory(tmp_path):
    x = low_rank(n=300, d=8)
    np.save(tmp_path / "x.npy", x)
    ae = AutoEncoder(code_dim=2, epochs=2).fit(x)
    streamed, expected = ae.evaluate(open_stream(tmp_path / "x.npy", chunk_rows=64)), ae.evaluate(x)
    for key in ("mse", "pca_mse", "gain_vs_pca", "n_samples"):
        assert streamed[key] == pytest.approx(expected[key], rel=1e-5)
    assert streamed["code_sparsity"] == pytest.approx(expected["code_sparsity"], rel=1e-5)


def test_array_writer_leaves_nothing_when_rows_are_missing(tmp_path):
    with pytest.raises(DataError, match="2 rows were written of the 3"):
        with array_writer(tmp_path / "c.npy", n_rows=3) as writer:
            writer.write(np.zeros((2, 4), np.float32))
    assert list(tmp_path.iterdir()) == []


# -- bad input ----------------------------------------------------------------------------
def test_bad_inputs_are_named(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="obj.npy.*pickle"):
        open_stream(tmp_path / "obj.npy")
    with pytest.raises(DataError, match="no such file.*missing.npy"):
        open_stream(tmp_path / "missing.npy")
    np.savez(tmp_path / "zipped.npz", x=np.ones((4, 2)))
    (tmp_path / "zipped.npz").rename(tmp_path / "zipped.npy")  # an archive under a .npy name
    with pytest.raises(DataError, match="zipped.npy: not a readable .npy file .a zip archive"):
        open_stream(tmp_path / "zipped.npy")
    bad = np.ones((20, 3), np.float32)
    bad[13, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(DataError, match="nan.npy: row 13, column 1 is NaN"):
        open_stream(tmp_path / "nan.npy", chunk_rows=4).read()
    pd.DataFrame({"a": [1.0, 2.0], "colour": ["red", "blue"]}).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match="column 'colour' holds text"):
        AutoEncoder(code_dim=1, epochs=1).fit(open_stream(tmp_path / "t.parquet"))
    result = run("fit", tmp_path / "t.parquet", "-o", tmp_path / "m", "--stream", ok=False)
    assert result.exit_code == 1 and "colour" in result.output and not (tmp_path / "m").exists()
    result = run("fit", tmp_path / "nope.csv", "-o", tmp_path / "m", "--stream", ok=False)
    assert result.exit_code == 1 and "no such file" in result.output
