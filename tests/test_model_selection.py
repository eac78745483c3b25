"""imgclf.model_selection: one-search-per-fold cross-validation over k (against scikit-learn's
per-k scores) and validation search."""
import numpy as np
import pytest
from imgclf import SoftmaxClassifier
from imgclf.model_selection import cross_validate_k, validation_search
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier


def test_cross_validate_k_matches_per_k_sklearn(rng):
    # continuous data: scikit-learn's brute search orders tied distances arbitrarily, so a tie
    # at the k-th neighbour would make the comparison depend on luck
    X = rng.standard_normal((150, 16))
    y = rng.integers(0, 3, 150)
    X[y == 1, :4] += 1.0  # some signal
    ks = [1, 3, 5, 8]
    res = cross_validate_k(X, y, ks, folds=5, metric="l1", tie_break="smallest", progress=False)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    for j, k in enumerate(ks):
        ref = cross_val_score(KNeighborsClassifier(k, metric="manhattan", algorithm="brute"),
                              X.astype(float), y, cv=cv)
        np.testing.assert_allclose(res["scores"][:, j], ref)
    assert res["best_k"] == ks[int(np.argmax(res["mean"]))]
    with pytest.raises(ValueError, match="max"):
        cross_validate_k(X, y, [200])


def test_validation_search(rng):
    X = rng.standard_normal((200, 5))
    y = (X[:, 0] > 0).astype(int)
    best, results = validation_search(lambda **p: SoftmaxClassifier(epochs=3, progress=False, **p),
                                      X[:150], y[:150], X[150:], y[150:], {"lr": [1e-3, 1e-2], "reg": [0.0, 1.0]})
    assert len(results) == 4 and results[0]["val_acc"] >= results[-1]["val_acc"]
    assert best.score(X[150:], y[150:]) == results[0]["val_acc"]
    _, rand = validation_search(lambda **p: SoftmaxClassifier(epochs=2, progress=False, **p),
                                X[:150], y[:150], X[150:], y[150:], {"lr": [1e-3, 1e-2, 1e-1]}, n_iter=2)
    assert len(rand) == 2


def test_cross_validate_k_refuses_float_ks():
    X = np.random.default_rng(0).standard_normal((30, 3))
    with pytest.raises(TypeError, match="ks must be an int"):
        cross_validate_k(X, np.arange(30) % 2, ks=[2.7])
