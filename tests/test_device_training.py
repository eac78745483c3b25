"""Training on an array module: LinearSVM, SoftmaxClassifier, TwoLayerNet and the Trainer
run one code path whatever holds the data.  On NumPy that path (LinearModel.fused = False:
separate affine_rows / gemm / loss / penalty ops, the optimizer state made by the array
module of the parameters) must give the fused CPU fit; on CuPy and torch CUDA tensors the
same path runs on the GPU (the CUDA loss and optimizer kernels, cuBLAS) and must give the
CPU fit too, with parameters, optimizer state and predictions on the device."""
import numpy as np
import pytest
from imgclf import LinearSVM, SoftmaxClassifier, Trainer, TwoLayerNet
from imgclf.linear import LinearModel

from .conftest import need_gpu, need_module


def _data(rng, n=240, d=20, C=4, dtype=np.uint8):
    y = rng.integers(0, C, n)
    centers = rng.integers(40, 215, (C, d))
    X = np.clip(centers[y] + rng.integers(-40, 41, (n, d)), 0, 255)
    return X.astype(dtype), y


ESTIMATORS = [
    (SoftmaxClassifier, {}),
    (LinearSVM, {}),
    (LinearSVM, {"squared": True, "penalty": "elasticnet", "reg": 1e-2}),
    (SoftmaxClassifier, {"penalty": "l1", "reg": 1e-3, "optimizer": "momentum"}),
]


@pytest.mark.parametrize("cls,kw", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_the_array_module_path_on_numpy_is_the_fused_fit(rng, monkeypatch, cls, kw, dtype):
    X, y = _data(rng, dtype=dtype)
    args = dict(kw, epochs=3, dtype="float64", random_state=3, progress=False)
    fused = cls(**args).fit(X, y)
    calls = []
    real = LinearModel.loss

    def spy(self, *a, **k):
        calls.append(self.fused)
        return real(self, *a, **k)

    monkeypatch.setattr(LinearModel, "fused", False)
    monkeypatch.setattr(LinearModel, "loss", spy)
    generic = cls(**args).fit(X, y)
    assert calls and not any(calls)  # every step took the array-module path
    np.testing.assert_allclose(generic.coef_, fused.coef_, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(generic.intercept_, fused.intercept_, rtol=1e-7, atol=1e-10)
    np.testing.assert_array_equal(generic.predict(X), fused.predict(X))


def test_the_trainer_keeps_parameters_and_state_where_they_are(rng):
    X, y = _data(rng, dtype=np.float32)
    m = LinearModel(X.shape[1], 4, rng=0, dtype=np.float32)
    m.fused = False
    t = Trainer(m, optimizer="adam", lr=1e-2, batch_size=32, epochs=2, random_state=0, progress=False)
    t.fit(X, y)
    assert all(type(v) is np.ndarray for v in m.params.values())
    assert all(type(s) is np.ndarray and s.flags.c_contiguous for s in t.optimizer.state.values())
    assert len(t.history["loss"]) == 2 * 8 and all(np.isfinite(t.history["loss"]))


# ---- on the GPU ---------------------------------------------------------------------------------

def _cupy():
    need_gpu()
    return need_module("cupy")


GPU_CASES = ESTIMATORS + [(TwoLayerNet, {"hidden": 16}), (TwoLayerNet, {"hidden": 8, "loss": "svm"})]


@pytest.mark.gpu
@pytest.mark.parametrize("cls,kw", GPU_CASES)
@pytest.mark.parametrize("early_stopping", [False, True])
def test_gpu_fit_on_cupy_is_the_cpu_fit(rng, cls, kw, early_stopping):
    cp = _cupy()
    X, y = _data(rng)
    args = dict(kw, epochs=3, dtype="float64", random_state=5, progress=False, early_stopping=early_stopping)
    cpu = cls(**args).fit(X, y)
    gpu = cls(**args).fit(cp.asarray(X), cp.asarray(y))
    for k, v in gpu.model_.params.items():
        assert isinstance(v, cp.ndarray), k
        np.testing.assert_allclose(v.get(), cpu.model_.params[k], rtol=1e-6, atol=1e-9, err_msg=k)
    assert all(isinstance(s, cp.ndarray) for s in gpu._opt.state.values())
    pred = gpu.predict(cp.asarray(X))
    assert isinstance(pred, cp.ndarray)
    assert (pred.get() == cpu.predict(X)).mean() >= 0.99
    np.testing.assert_allclose(gpu.history_["loss"], cpu.history_["loss"], rtol=1e-6)


@pytest.mark.gpu
def test_gpu_fit_on_torch_cuda_tensors(rng):
    cp = _cupy()
    torch = need_module("torch")
    X, y = _data(rng)
    cpu = SoftmaxClassifier(epochs=2, dtype="float64", random_state=1, progress=False).fit(X, y)
    gpu = SoftmaxClassifier(epochs=2, dtype="float64", random_state=1, progress=False).fit(
        torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda())
    assert isinstance(gpu.model_.params["W"], cp.ndarray)
    np.testing.assert_allclose(gpu.coef_.get(), cpu.coef_, rtol=1e-6, atol=1e-9)
    pred = gpu.predict(torch.from_numpy(X).cuda())
    assert isinstance(pred, cp.ndarray)


@pytest.mark.gpu
def test_gpu_trainer_float32_matches_the_cpu(rng):
    cp = _cupy()
    X, y = _data(rng, dtype=np.float32)
    runs = {}
    for name, put in (("cpu", lambda a: a), ("gpu", cp.asarray)):
        m = LinearModel(X.shape[1], 4, rng=0, dtype=np.float32)
        if name == "gpu":
            m.to(cp)
        t = Trainer(m, optimizer="rmsprop", lr=1e-2, batch_size=32, epochs=2, random_state=0, progress=False)
        t.fit(put(X), put(y), put(X[:50]), put(y[:50]))
        runs[name] = (m, t)
    (mc, tc), (mg, tg) = runs["cpu"], runs["gpu"]
    np.testing.assert_allclose(mg.params["W"].get(), mc.params["W"], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(tg.history["loss"], tc.history["loss"], rtol=1e-4)


@pytest.mark.gpu
def test_gpu_lbfgs_is_refused_clearly(rng):
    cp = _cupy()
    X, y = _data(rng)
    with pytest.raises(ValueError, match="lbfgs"):
        SoftmaxClassifier(optimizer="lbfgs").fit(cp.asarray(X), cp.asarray(y))


@pytest.mark.gpu
def test_gpu_cross_validate_k_is_the_cpus(rng):
    cp = _cupy()
    from imgclf.model_selection import cross_validate_k

    X, y = _data(rng, n=300)
    for metric in ("l1", "l2"):
        cpu = cross_validate_k(X, y, [1, 3, 5], folds=3, metric=metric, random_state=2, progress=False)
        gpu = cross_validate_k(cp.asarray(X), cp.asarray(y), [1, 3, 5], folds=3, metric=metric, random_state=2,
                               progress=False, backend="cuda")
        np.testing.assert_array_equal(gpu["scores"], cpu["scores"])
        assert gpu["best_k"] == cpu["best_k"]


@pytest.mark.gpu
def test_gpu_trainer_takes_torch_cuda_tensors(rng):
    cp = _cupy()
    torch = need_module("torch")
    X, y = _data(rng, dtype=np.float32)
    m = LinearModel(X.shape[1], 4, rng=0, dtype=np.float32).to(cp)
    t = Trainer(m, optimizer="sgd", lr=1e-2, batch_size=32, epochs=1, random_state=0, progress=False)
    t.fit(torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda())
    assert isinstance(m.params["W"], cp.ndarray) and len(t.history["loss"]) == 8
