"""imgclf.ops: the array-level API, a drop-in fast backend for your own code.

One module per kernel family, named as the family is in every layer (csrc/cpu/<family>_impl.h,
csrc/cuda/<family>.cu, csrc/bindings/{cpu,cuda}/<family>.cpp, tests/ops/test_<family>.py):

* :mod:`~imgclf.ops.knn` -- ``pairwise_distances``, ``knn`` (fused search), ``vote``
* :mod:`~imgclf.ops.loss` -- ``softmax_loss``, ``svm_loss``, ``penalty``, ``linear_loss``
* :mod:`~imgclf.ops.optim` -- ``sgd_step``, ``momentum_step``, ``nesterov_step``,
  ``adagrad_step``, ``rmsprop_step``, ``adam_step``
* :mod:`~imgclf.ops.dense` -- ``gemm``, ``bias_act``, ``act_backward``, ``affine_rows``
  (and ``bias_relu``, ``relu_backward``)
* :mod:`~imgclf.ops.regularize` -- ``max_norm``, ``dropout``
* :mod:`~imgclf.ops.network` -- ``network_loss`` (a fully connected network's minibatch:
  every layer, forward and backward, in one call), ``network_train`` (consecutive
  minibatches, each its loss and an optimizer step, in one call)

Every function takes NumPy arrays (or CuPy arrays, or torch tensors), checks them once, and
runs the first backend of :mod:`imgclf.ops.dispatch` that takes them: the compiled CPU
kernel, the CUDA kernel for CuPy arrays, or the NumPy reference (:mod:`imgclf._reference`),
which defines the results.

Dtypes.  float32, float64 and uint8 are computed in their own type.  Images stay uint8:
for uint8 inputs "l1" and "sqeuclidean" distances are exact integers, returned as int32
while every possible value fits (up to 33025 features for "sqeuclidean": 255^2 * 33025 <
2^31; 8421504 for "l1") and as int64 beyond, and "l2" is the float64 square root of that
exact integer.  float32 results are ranked and rounded as float64 distances would be, over
the whole finite range (a float32 "l2" distance is finite whenever the true one is).
Other real dtypes (bool, integers, float16) are converted to float64 once; mixed pairs are
promoted (uint8 with float32 gives float32).  Complex and non-numeric arrays are refused.
Arrays with more than two dimensions (N x H x W x C images) are flattened per sample.

GPU.  CuPy arrays run on the GPU, on CuPy's current stream, with results allocated by
CuPy: knn, pairwise_distances and vote (float32 and uint8; float64 by the reference with
xp=cupy), the losses, the optimizer steps and max_norm have CUDA kernels; the dense ops run
the reference on CuPy (cuBLAS products).  torch tensors are accepted too (CUDA tensors
through DLPack, CPU tensors as NumPy views, no copies) and array results come back as torch
tensors.

Dask.  Dask arrays (queries, training set or both) give dask arrays: ``knn`` and
``pairwise_distances`` run the single-machine kernel on each pair of blocks, on the
workers, and the top-k lists merge in a tree with global indices, so the answer is the
single-machine answer, ties included (:mod:`imgclf.dask`; ``pip install 'imgclf[dask]'``).
"""
from . import dispatch
from .dense import ACTIVATIONS, act_backward, affine_rows, bias_act, bias_relu, gemm, relu_backward
from .knn import METRICS, knn, pairwise_distances, vote
from .loss import LOSSES, PENALTIES, linear_loss, penalty, softmax_loss, svm_loss
from .network import network_loss, network_train
from .optim import adagrad_step, adam_step, momentum_step, nesterov_step, rmsprop_step, sgd_step
from .regularize import dropout, max_norm

__all__ = ["pairwise_distances", "knn", "vote", "softmax_loss", "svm_loss", "penalty", "linear_loss",
           "sgd_step", "momentum_step", "nesterov_step", "adagrad_step", "rmsprop_step", "adam_step",
           "gemm", "bias_act", "act_backward", "bias_relu", "relu_backward", "affine_rows", "max_norm", "dropout",
           "network_loss", "network_train",
           "dispatch", "METRICS", "LOSSES", "PENALTIES", "ACTIVATIONS"]
