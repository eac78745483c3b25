"""Type stubs for imgclf._cuda, the compiled CUDA kernels (built from source with nvcc;
see README, "GPU").

Arrays are passed as raw device pointers (int) with their sizes, and every launch goes on
the given CUDA stream (a cudaStream_t as int) of the given device (the one that holds the
arrays; it is made current for the call and the caller's current device is restored);
imgclf.ops allocates from CuPy's memory pool and calls these.  itemsize selects the element type: 1 = uint8, 4 = float32,
8 = float64.  One binding file per kernel family: csrc/bindings/cuda/<family>.cpp.
"""
import enum

class Metric(enum.Enum):
    l1 = ...
    sqeuclidean = ...
    l2 = ...

class Weights(enum.Enum):
    uniform = ...
    distance = ...

class TieBreak(enum.Enum):
    nearest = ...
    smallest = ...

class LossKind(enum.Enum):
    softmax = ...
    svm = ...
    squared_svm = ...

class PenaltyKind(enum.Enum):
    l2 = ...
    l1 = ...
    elasticnet = ...

class Activation(enum.Enum):
    identity = ...
    relu = ...
    leaky_relu = ...
    tanh = ...
    sigmoid = ...

class OptimKind(enum.Enum):
    sgd = ...
    momentum = ...
    nesterov = ...
    adagrad = ...
    rmsprop = ...
    adam = ...

# module.cpp: device discovery
def device_count() -> tuple[int, str]: ...
def probe(device: int = 0) -> tuple[bool, str]: ...
def device_name(device: int = 0) -> str: ...

# dense.cpp
def bias_act(
    h: int, b: int, n: int, H: int, activation: Activation, slope: float, itemsize: int, stream: int, device: int
) -> None: ...
def act_backward(
    dh: int, h: int, n: int, H: int, activation: Activation, slope: float, db: int, itemsize: int, stream: int,
    device: int,
) -> None: ...

# knn.cpp
def max_shared_memory(device: int) -> int: ...
def knn_workspace(n_queries: int, n_train: int, kk: int, itemsize: int) -> int: ...
def knn_smem(kk: int, k: int, itemsize: int) -> int: ...
def knn(
    queries: int,
    n_queries: int,
    train: int,
    n_train: int,
    width: int,
    k: int,
    kk: int,
    metric: Metric,
    itemsize: int,
    out_dist: int,
    out_idx: int,
    workspace: int,
    stream: int,
    device: int,
) -> None: ...
def pairwise_distances(
    X: int, n_X: int, Y: int, n_Y: int, width: int, metric: Metric, itemsize: int, out: int, stream: int, device: int
) -> None: ...
def vote(
    labels: int,
    dist: int,
    n: int,
    k: int,
    n_classes: int,
    weights: Weights,
    tie_break: TieBreak,
    out_labels: int,
    scores: int,
    stream: int,
    device: int,
) -> None: ...

# loss.cpp
def class_loss(
    scores: int,
    n: int,
    n_classes: int,
    y: int,
    kind: LossKind,
    margin: float,
    dscores: int,
    row_loss: int,
    out_loss: int,
    itemsize: int,
    stream: int,
    device: int,
) -> None: ...

# optim.cpp: tensors = [(param, grad, state0, state1, size)] as device pointers
def optim_step(
    kind: OptimKind,
    itemsize: int,
    tensors: list[tuple[int, int, int, int, int]],
    stream: int,
    device: int,
    *,
    lr: float,
    momentum: float = 0.0,
    decay: float = 0.0,
    beta1: float = 0.0,
    beta2: float = 0.0,
    eps: float = 0.0,
    weight_decay: float = 0.0,
    step: int = 1,
) -> None: ...

# regularize.cpp
def max_norm(W: int, d: int, H: int, c: float, norms: int, itemsize: int, stream: int, device: int) -> None: ...
def dropout(h: int, n: int, p: float, seed: int, itemsize: int, stream: int, device: int) -> None: ...
