"""imgclf.gradcheck: numerical gradients and relative errors."""
import numpy as np
import pytest
from imgclf import gradcheck


def test_gradcheck_helpers():
    x = np.array([1.0, 2.0, -3.0])
    num = gradcheck.numerical_gradient(lambda: float((x ** 3).sum()), x)
    np.testing.assert_allclose(num, 3 * x ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, 2.0, -3.0])  # restored
    assert gradcheck.relative_error(np.ones(3), np.ones(3)) == 0
    assert gradcheck.relative_error(np.ones(3), -np.ones(3)) == pytest.approx(1.0)
    with pytest.raises(TypeError):
        gradcheck.numerical_gradient(lambda: 0.0, np.arange(3))
