"""The row lookup works a block of rows at a time: same keys and groups as one block."""
import numpy as np

import graphmoe.cluster._lookup as lookup


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 7)) * 10.0 ** rng.integers(-5, 5, size=(500, 1))
    X[50:60] = X[:10]                                  # exact copies
    X[60:70] = X[10:20].astype(np.float32)             # copies up to float32 rounding
    X[70, 3] = -0.0
    X[71] = X[70]
    X[71, 3] = 0.0
    return X


def test_blockwise_keys_projection_and_groups_match_one_block(monkeypatch):
    X = _data()
    whole_keys = lookup.float32_row_keys(X)
    whole_proj = lookup.row_projection(X)
    whole_rep = lookup.RowLookup(X).representative
    monkeypatch.setattr(lookup, "_BLOCK_VALUES", 3 * X.shape[1] + 2)  # blocks of 3 rows
    assert lookup.float32_row_keys(X) == whole_keys
    np.testing.assert_allclose(lookup.row_projection(X), whole_proj, rtol=1e-12)
    table = lookup.RowLookup(X)
    np.testing.assert_array_equal(table.representative, whole_rep)
    assert np.all(whole_rep[50:60] == np.arange(10))
    assert whole_rep[71] == 70                         # -0.0 and 0.0 are equal
    # float32-rounded queries are found; an exact copy (rows 60-69) wins over a rounded one
    expected = np.r_[np.arange(10), np.arange(60, 70)]
    np.testing.assert_array_equal(table.find(X[:20].astype(np.float32)), expected)


def test_float32_training_rows_key_like_their_float64_values():
    X = _data().astype(np.float32)
    assert lookup.float32_row_keys(X) == lookup.float32_row_keys(X.astype(np.float64))
    np.testing.assert_allclose(lookup.row_projection(X), lookup.row_projection(X.astype(np.float64)))
    table = lookup.RowLookup(X)
    np.testing.assert_array_equal(table.find(X.astype(np.float64)), table.representative)
