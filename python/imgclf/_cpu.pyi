"""Type stubs for imgclf._cpu, the compiled CPU kernels (C++ / OpenMP, SIMD chosen at run time).

The kernels write into preallocated outputs and check shapes, dtypes and contiguity
themselves; imgclf.ops is the public API that allocates and validates before calling them.
Integer codes: metric 0 = l1, 1 = squared l2; loss kind 0 = softmax, 1 = svm,
2 = squared svm; penalty 0 = l2, 1 = l1, 2 = elasticnet; optimizer kind 0 = sgd,
1 = momentum, 2 = nesterov, 3 = adagrad, 4 = rmsprop, 5 = adam.
"""
import numpy as np
import numpy.typing as npt

__version__: str

def knn(
    queries: npt.NDArray[np.generic],
    train: npt.NDArray[np.generic],
    k: int,
    metric: int,
    out_distances: npt.NDArray[np.generic],
    out_indices: npt.NDArray[np.int64],
) -> int: ...
def pairwise(
    X: npt.NDArray[np.generic], Y: npt.NDArray[np.generic], metric: int, out: npt.NDArray[np.generic]
) -> None: ...
def vote(
    neighbor_labels: npt.NDArray[np.int64],
    distances: npt.NDArray[np.float64] | None,
    n_classes: int,
    weights: int,
    tie_break: int,
    out_labels: npt.NDArray[np.int64],
    out_scores: npt.NDArray[np.float64],
) -> None: ...
def class_loss(
    scores: npt.NDArray[np.floating], y: npt.NDArray[np.int64], kind: int, margin: float,
    dscores: npt.NDArray[np.floating],
) -> float: ...
def penalty(
    W: npt.NDArray[np.floating], kind: int, beta: float, reg: float, grad: npt.NDArray[np.floating] | None
) -> float: ...
def linear_grad(
    X: npt.NDArray[np.generic],
    rows: npt.NDArray[np.int64] | None,
    scale: float,
    shift: npt.NDArray[np.floating] | None,
    W: npt.NDArray[np.floating],
    b: npt.NDArray[np.floating],
    y: npt.NDArray[np.int64],
    kind: int,
    margin: float,
    reg: float,
    penalty: int,
    beta: float,
    dW: npt.NDArray[np.floating],
    db: npt.NDArray[np.floating],
) -> float: ...
def optim_step(
    kind: int,
    params: list[npt.NDArray[np.floating]],
    grads: list[npt.NDArray[np.floating]],
    state1: list[npt.NDArray[np.floating]] | None,
    state2: list[npt.NDArray[np.floating]] | None,
    lr: float,
    a: float,
    b: float,
    eps: float,
    weight_decay: float,
    bc1: float,
    bc2: float,
) -> None: ...
def gemm(
    A: npt.NDArray[np.floating],
    B: npt.NDArray[np.floating],
    out: npt.NDArray[np.floating],
    trans_a: bool,
    trans_b: bool,
    alpha: float,
    beta: float,
) -> None: ...
def bias_act(h: npt.NDArray[np.floating], b: npt.NDArray[np.floating], relu: bool) -> None: ...
def act_backward(
    dh: npt.NDArray[np.floating], h: npt.NDArray[np.floating], db: npt.NDArray[np.floating]
) -> None: ...
def gather_affine(
    X: npt.NDArray[np.generic],
    rows: npt.NDArray[np.int64] | None,
    scale: float,
    shift: npt.NDArray[np.floating] | None,
    out: npt.NDArray[np.floating],
) -> None: ...
def simd_levels() -> list[str]: ...
def simd_level() -> str: ...
def set_simd_level(arg0: str) -> None: ...
def num_threads() -> int: ...
def set_num_threads(arg0: int) -> None: ...
