"""imgclf.metrics: accuracy, top-k accuracy, the confusion matrix, and what they refuse."""
import numpy as np
import pytest
from imgclf import metrics


def test_metrics():
    y = np.array([0, 1, 2, 2])
    assert metrics.accuracy(y, np.array([0, 1, 1, 2])) == 0.75
    s = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.5, 0.4, 0.1], [0.0, 0.0, 1.0]])
    assert metrics.top_k_accuracy(y, s, 1) == 0.5
    assert metrics.top_k_accuracy(y, s, 2) == 0.75
    assert metrics.top_k_accuracy(y, s, 5) == 1.0
    cm = metrics.confusion_matrix(y, np.array([0, 1, 1, 2]), 3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 0], [0, 1, 1]])
    with pytest.raises(ValueError):
        metrics.accuracy(y, y[:2])


def test_metrics_refuse_what_they_would_misread():
    with pytest.raises(TypeError, match="y_true must hold integers"):
        metrics.confusion_matrix([0, 1.7], [0, 1])
    with pytest.raises(ValueError, match=r"y_true must be class indices in \[0, 3\)"):
        metrics.top_k_accuracy([0, 5], np.ones((2, 3)), 2)
    with pytest.raises(ValueError, match="empty"):
        metrics.top_k_accuracy(np.array([], int), np.ones((0, 3)), 2)
    with pytest.raises(ValueError, match="empty"):
        metrics.confusion_matrix([], [])
    assert metrics.confusion_matrix([], [], n_classes=2).tolist() == [[0, 0], [0, 0]]
