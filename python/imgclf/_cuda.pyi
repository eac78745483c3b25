"""Type stubs for imgclf._cuda, the compiled CUDA kernels (built from source with nvcc;
see README, "GPU").

Arrays are passed as raw device pointers (int) with their sizes, and every launch goes on
the given CUDA stream (a cudaStream_t as int); imgclf.ops allocates from CuPy's memory
pool and calls these.  itemsize selects the element type: 1 = uint8, 4 = float32,
8 = float64.
"""

def device_count() -> tuple[int, str]: ...
def probe(device: int = 0) -> tuple[bool, str]: ...
def device_name(device: int = 0) -> str: ...
def knn_plan(n_queries: int, n_train: int, k: int, itemsize: int, device: int) -> tuple[int, int]: ...
def knn(
    queries: int,
    n_queries: int,
    train: int,
    n_train: int,
    width: int,
    k: int,
    kk: int,
    metric: int,
    itemsize: int,
    out_dist: int,
    out_idx: int,
    workspace: int,
    stream: int,
) -> None: ...
def pairwise(
    X: int, n_X: int, Y: int, n_Y: int, width: int, metric: int, itemsize: int, out: int, stream: int
) -> None: ...
def vote(
    labels: int,
    dist: int,
    n: int,
    k: int,
    n_classes: int,
    weights: int,
    tie_break: int,
    out_labels: int,
    scores: int,
    stream: int,
) -> None: ...
def class_loss(
    scores: int,
    n: int,
    n_classes: int,
    y: int,
    kind: int,
    margin: float,
    dscores: int,
    row_loss: int,
    out_loss: int,
    itemsize: int,
    stream: int,
) -> None: ...
def optim_step(
    kind: int,
    itemsize: int,
    tensors: list[tuple[int, int, int, int, int]],
    lr: float,
    a: float,
    b: float,
    eps: float,
    weight_decay: float,
    bc1: float,
    bc2: float,
    stream: int,
) -> None: ...
