"""The optimizer objects (imgclf.optim) that the Trainer and the estimators use."""
import numpy as np
import pytest
from imgclf import optim


def test_optimizer_objects(rng):
    for opt in [optim.SGD(0.1), optim.SGD(0.1, momentum=0.9), optim.SGD(0.1, 0.9, nesterov=True),
                optim.AdaGrad(0.5), optim.RMSProp(0.05), optim.Adam(0.1)]:
        p = {"w": np.array([3.0, -2.0])}
        for _ in range(300):
            opt.step(p, {"w": 2 * p["w"]})  # minimize |w|^2
        assert np.abs(p["w"]).max() < 0.2, opt
    with pytest.raises(ValueError):
        optim.SGD(0.1, nesterov=True)
    with pytest.raises(ValueError):
        optim.Adam(lr=0)
    p = {"w": np.array([3.0, -2.0]), "b": np.array([1.0])}

    def f():
        return float((p["w"] ** 2).sum() + ((p["b"] - 2) ** 2).sum()), {"w": 2 * p["w"], "b": 2 * (p["b"] - 2)}

    res = optim.lbfgs(f, p)
    assert res.success
    np.testing.assert_allclose(p["w"], 0, atol=1e-6)
    np.testing.assert_allclose(p["b"], 2, atol=1e-6)
