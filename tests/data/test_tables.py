"""TableSchema: column kinds, one-hot groups, JSON round trip, and the errors new tables get."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aekit.data import TableSchema, check_array, load
from aekit.errors import DataError, ModelFileError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [31, 45, None, 28],
            "colour": ["red", None, "blue", "green"],
            "member": [True, False, True, None],
            "height": [1.8, 1.6, 1.7, np.nan],
        }
    )


def test_kinds_groups_and_encoding(frame):
    schema = TableSchema.fit(frame)
    assert [(c.name, c.kind) for c in schema.columns] == [
        ("age", "numeric"),
        ("colour", "categorical"),
        ("member", "boolean"),
        ("height", "numeric"),
    ]
    assert schema.columns[1].categories == ("blue", "green", "red")  # sorted
    assert schema.columns[0].integer and not schema.columns[3].integer
    # age | colour=blue green red | member=False True | height
    assert schema.width == 7 and schema.categorical == ((1, 3), (4, 2))
    assert schema.feature_names() == [
        "age",
        "colour=blue",
        "colour=green",
        "colour=red",
        "member=False",
        "member=True",
        "height",
    ]
    x = schema.encode(frame)
    assert x.dtype == np.float32 and x.shape == (4, 7)
    np.testing.assert_allclose(x[0], [31, 0, 0, 1, 0, 1, 1.8], rtol=1e-7)
    np.testing.assert_array_equal(x[1, 1:6], [0, 0, 0, 1, 0])  # missing category: an all-zero group
    assert np.isnan(x[2, 0]) and np.isnan(x[3, 6])  # missing numbers: NaN
    np.testing.assert_array_equal(x[3, 4:6], [0, 0])  # missing boolean
    back = schema.decode(np.nan_to_num(x))
    assert back.colour.tolist()[::2] == ["red", "blue"] and back.member.tolist()[:3] == [True, False, True]
    assert back.age.tolist()[:2] == [31, 45]


def test_json_round_trip_gives_the_same_encoding(frame):
    import json

    schema = TableSchema.fit(frame)
    again = TableSchema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert again.to_dict() == schema.to_dict()
    np.testing.assert_array_equal(again.encode(frame), schema.encode(frame))
    with pytest.raises(ModelFileError, match="table schema is malformed.*kind 'text'"):
        TableSchema.from_dict({"format": 1, "columns": [{"name": "a", "kind": "text"}]})


def test_column_order_does_not_matter_and_numbers_read_as_text_for_categories():
    schema = TableSchema.fit(pd.DataFrame({"code": ["1", "x", "y"], "v": [1.0, 2.0, 3.0]}))
    x = schema.encode(pd.DataFrame({"v": [5.0], "code": [1.0]}))  # 1.0 reads "1"
    np.testing.assert_array_equal(x, [[1, 0, 0, 5]])
    with pytest.raises(DataError, match=r"row 2, column 'n' holds 'x', which is not a number, while 2 of its 3"):
        TableSchema.fit(pd.DataFrame({"n": ["1", "2", "x"]}))  # mostly numbers: a typo, not categories


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            pd.DataFrame({"age": [1], "colour": ["purple"], "member": [True], "height": [1.0]}),
            r"row 0, column 'colour' holds 'purple', a category not seen in training; expected one of "
            r"\['blue', 'green', 'red'\]",
        ),
        (
            pd.DataFrame({"age": [1], "colour": ["red"], "member": [True]}),
            r"lacks column\(s\) \['height'\]; the model was fitted on columns \['age', 'colour', 'member', 'height'\]",
        ),
        (
            pd.DataFrame({"age": [1], "colour": ["red"], "member": [True], "height": [1.0], "shoe": [42]}),
            r"has column\(s\) \['shoe'\] the model was not fitted on",
        ),
        (
            pd.DataFrame({"age": ["old"], "colour": ["red"], "member": [True], "height": [1.0]}),
            r"row 0, column 'age' holds 'old', which is not a number; the model was fitted with this column numeric",
        ),
        (
            pd.DataFrame({"age": [1], "colour": ["red"], "member": ["maybe"], "height": [1.0]}),
            r"row 0, column 'member' holds 'maybe'; the model was fitted with this column boolean",
        ),
    ],
)
def test_bad_tables_name_the_column_and_what_is_expected(frame, bad, message):
    schema = TableSchema.fit(frame)
    with pytest.raises(DataError, match=message):
        schema.encode(bad)


def test_unknown_category_as_missing_and_extra_columns_ignored_on_request(frame):
    schema = TableSchema.fit(frame)
    new = pd.DataFrame({"age": [1], "colour": ["purple"], "member": [1], "height": [1.0], "shoe": [42]})
    x = schema.encode(new, unknown="missing", extra="ignore")
    np.testing.assert_array_equal(x, [[1, 0, 0, 0, 0, 1, 1]])


def test_fit_refuses_what_it_cannot_encode():
    with pytest.raises(DataError, match="column 'empty' holds no value in any row"):
        TableSchema.fit(pd.DataFrame({"a": [1.0, 2.0], "empty": [None, None]}))
    with pytest.raises(DataError, match="column 'id' holds 300 distinct values; .* at most 200"):
        TableSchema.fit(pd.DataFrame({"id": [f"u{i}" for i in range(300)]}))
    with pytest.raises(DataError, match="column 'when' has dtype datetime64"):
        TableSchema.fit(pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-01-02"]), "a": [1, 2]}))


def test_csv_with_mixed_columns_and_gaps(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("size,colour,ok,label\n1.5,red,True,a\n,blue,False,b\n3,,True,a\n")
    with pytest.raises(DataError, match=r"m.csv: row 3, column 'size' is missing.*missing='mask'"):
        load(path)
    ds = load(path, missing="mask")
    assert ds.columns == ["size", "colour", "ok"] and ds.label_names == ["a", "b"]
    np.testing.assert_array_equal(ds.x[2], [3, 0, 0, 0, 1])  # size | blue red | False True
    assert np.isnan(ds.x[1, 0]) and ds.label_column == "label"
    part = ds.subset([2, 0])
    assert part.features()["size"].tolist() == [3.0, 1.5] and part.frame["label"].tolist() == ["a", "a"]


def test_parquet_with_mixed_columns(tmp_path):
    frame = pd.DataFrame(
        {
            "v": [1.0, None, 2.0],
            "kind": pd.Categorical(["x", "y", None]),
            "flag": pd.array([True, None, False], dtype="boolean"),
        }
    )
    frame.to_parquet(tmp_path / "t.parquet")
    ds = load(tmp_path / "t.parquet", missing="mask")
    assert ds.x.shape == (3, 5)
    np.testing.assert_array_equal(ds.x[2, 1:], [0, 0, 1, 0])


def test_check_array_lets_nan_through_only_for_tables_that_ask():
    x = np.array([[1.0, np.nan]])
    assert np.isnan(check_array(x, name="t", kind="table", allow_missing=True)[0, 1])
    with pytest.raises(DataError, match="row 0, column 1 is NaN"):
        check_array(x, name="t", kind="table")
    with pytest.raises(DataError, match="row 0, column 0 is inf"):
        check_array(np.array([[np.inf, np.nan]]), name="t", kind="table", allow_missing=True)
