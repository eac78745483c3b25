"""imgclf.sklearn: scikit-learn's nearest-neighbour classes and ``pairwise_distances`` on
imgclf's kernels, for scikit-learn code that should not be rewritten.

``KNeighborsClassifier``, ``KNeighborsRegressor`` and ``NearestNeighbors`` subclass
scikit-learn's classes of the same names: the same parameters (inherited, so exactly the
installed scikit-learn's signature), the same attributes, the same validation and errors,
and the same results.  Only the brute-force k-nearest-neighbour search is replaced, and
only where imgclf computes the same thing:

* the effective metric is "euclidean"/"l2", "manhattan"/"cityblock"/"l1", "sqeuclidean",
  or "minkowski" with p = 1 or 2 (no weights ``w``, no other ``metric_params``);
* scikit-learn chose the brute-force method (``algorithm="brute"``, or ``"auto"`` on more
  than 15 features, which is every image data set; on fewer features "auto" builds
  scikit-learn's KD-tree, which then answers);
* the training data and the queries are dense.

Everything else (other metrics, callables, ``DistanceMetric`` objects, "precomputed",
sparse input, trees, radius queries) runs scikit-learn's own code unchanged.  Each call
logs one DEBUG line on the ``imgclf.sklearn`` logger saying which code ran and why.

Results.  Distances come back as float64 and indices as intp, as scikit-learn returns
them, for every input dtype.  Internally uint8 images stay uint8 and their L1 and squared
L2 distances are exact integers; float (or integer) data whose values are all integers in
[0, 255] (pixels loaded as float64, as ``fetch_openml`` does) is searched as uint8 too,
which gives the same distances exactly (``fit`` keeps that uint8 copy, an eighth of the
float64 data's memory); other data is searched in its own float type
(float32 L2 candidates are re-ranked in float64, see :func:`imgclf.ops.knn`).  Rows
are ordered by (distance, training index): where scikit-learn's order among equal
distances is arbitrary, this is one of its valid answers, and it is deterministic.
Classifier votes with ``weights="uniform"`` go through :func:`imgclf.ops.vote` with
``tie_break="smallest"`` (scikit-learn's rule: the smallest label wins a tie);
``weights="distance"`` and callables run scikit-learn's own weighting on imgclf's
neighbours (so exact matches at distance 0 take all the weight, as in scikit-learn).
``n_jobs`` does not limit imgclf's threads (see :func:`imgclf.set_num_threads`).

``patch_sklearn()`` makes ``from sklearn.neighbors import KNeighborsClassifier`` (and
the other names) return these classes; ``python -m imgclf.sklearn script.py`` runs an
unmodified script patched.
"""
from __future__ import annotations

import importlib
import inspect
import logging
from numbers import Integral

import numpy as np
import sklearn.metrics.pairwise as _sk_pairwise_module
import sklearn.neighbors as _sk_neighbors
from joblib import effective_n_jobs
from scipy.sparse import issparse
from sklearn.utils.validation import check_is_fitted

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def validate_data(est, X, **kw):
        return est._validate_data(X, **kw)

from .. import ops

__all__ = [
    "ACCELERATED_METRICS",
    "KNeighborsClassifier",
    "KNeighborsRegressor",
    "NearestNeighbors",
    "pairwise_distances",
    "patch_sklearn",
    "sklearn_is_patched",
    "unpatch_sklearn",
]

logger = logging.getLogger("imgclf.sklearn")

# scikit-learn's metric names (after its minkowski p=1/p=2 rewrite) -> imgclf's
ACCELERATED_METRICS = {"euclidean": "l2", "l2": "l2", "manhattan": "l1", "cityblock": "l1", "l1": "l1",
                       "sqeuclidean": "sqeuclidean"}

# the originals, taken before anything is patched
_SK_CLASSES = {name: getattr(_sk_neighbors, name)
               for name in ("KNeighborsClassifier", "KNeighborsRegressor", "NearestNeighbors")}
_SK_PAIRWISE = _sk_pairwise_module.pairwise_distances

_U8_CHECK_ROWS = 4096  # rows per block when testing whether data is uint8 in disguise


def _as_uint8(X):
    """X as uint8 when every value is an integer in [0, 255], else None.

    Such data (pixels stored as float64 or int64) has the same L1 and squared L2 distances
    as its uint8 copy, exactly, and imgclf's uint8 kernels are the fastest.  The test runs
    block by block and stops at the first block that fails, so ordinary float data costs
    one small block."""
    if X.dtype == np.uint8:
        return X
    if X.dtype.kind == "b":
        return X.astype(np.uint8)
    if X.dtype.kind not in "iuf" or X.size == 0:
        return None
    out = np.empty(X.shape, dtype=np.uint8)
    for s in range(0, X.shape[0], _U8_CHECK_ROWS):
        B, U = X[s : s + _U8_CHECK_ROWS], out[s : s + _U8_CHECK_ROWS]
        if not (B.min() >= 0 and B.max() <= 255):
            return None
        np.copyto(U, B, casting="unsafe")
        if X.dtype.kind == "f" and not np.array_equal(U, B):  # a fraction somewhere
            return None
    return out


def _is_dense_array(X):
    return isinstance(X, np.ndarray) and not isinstance(X, np.matrix)


def _describe(Q, T, k):
    return f"{Q.shape[0]} {Q.dtype} queries x {T.shape[0]} {T.dtype} train x {T.shape[1]} features, k={k}"


# ---- the estimators -----------------------------------------------------------------------

class _ImgclfSearch:
    """The part the three estimators share: the accelerated kneighbors."""

    def _imgclf_metric(self):
        """imgclf's metric name for this fitted estimator, or (None, why not)."""
        m = self.effective_metric_
        if not isinstance(m, str) or m not in ACCELERATED_METRICS:
            shown = m if isinstance(m, str) else type(m).__name__
            return None, f"metric {shown!r} is not accelerated"
        if self.effective_metric_params_:
            return None, f"metric_params {self.effective_metric_params_!r} are not accelerated"
        return ACCELERATED_METRICS[m], None

    def _imgclf_reason(self, X):
        """None when imgclf answers queries X (None = the training set), else why not."""
        if self._fit_method != "brute":
            return f"algorithm resolved to {self._fit_method!r} (scikit-learn's tree answers)"
        metric, why = self._imgclf_metric()
        if metric is None:
            return why
        if not _is_dense_array(self._fit_X):
            return "the training data is sparse"
        if self._fit_X.dtype.kind not in "biuf":
            return f"training dtype {self._fit_X.dtype} is not numeric"
        if X is not None and issparse(X):
            return "the queries are sparse"
        return None

    def _imgclf_after_fit(self):
        """Keep a uint8 copy of integer-valued pixel data (the exact, fastest search)."""
        self._imgclf_fit_u8 = None
        if self._imgclf_reason(None) is None:
            self._imgclf_fit_u8 = _as_uint8(self._fit_X)
        return self

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        check_is_fitted(self)
        name = type(self).__name__
        reason = self._imgclf_reason(X)
        if reason is not None:
            logger.debug("%s.kneighbors: scikit-learn (%s)", name, reason)
            return super().kneighbors(X, n_neighbors, return_distance)
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        query_is_train = X is None
        limit = self.n_samples_fit_ - 1 if query_is_train else self.n_samples_fit_
        if not isinstance(k, Integral) or not 1 <= k <= limit:
            # scikit-learn raises its own error for this n_neighbors (after checking X)
            return super().kneighbors(X, n_neighbors, return_distance)
        k = int(k)
        if query_is_train:
            Q = None
        else:
            Q = validate_data(self, X, accept_sparse="csr", reset=False, order="C")
        dist, idx = self._imgclf_knn(Q, k + 1 if query_is_train else k, name)
        if query_is_train:
            dist, idx = _drop_self(dist, idx)
        return (dist, idx) if return_distance else idx

    def _imgclf_knn(self, Q, k, name):
        """imgclf's search: float64 distances and intp indices, (distance, index) order."""
        metric, _ = self._imgclf_metric()
        T = self._fit_X
        Tu8 = getattr(self, "_imgclf_fit_u8", None)  # absent when fit did not run here (set_state)
        if Tu8 is None and self._fit_X.dtype == np.uint8:
            Tu8 = self._fit_X
        Q = T if Q is None else Q
        if Tu8 is not None:
            Qu8 = Tu8 if Q is T else _as_uint8(Q)
            if Qu8 is not None:
                Q, T = Qu8, Tu8
        logger.debug("%s.kneighbors: imgclf (%s, %s)", name, metric, _describe(Q, T, k))
        dist, idx = ops.knn(Q, T, k, metric)
        return dist.astype(np.float64, copy=False), idx.astype(np.intp, copy=False)


def _drop_self(dist, idx):
    """Neighbours of the training points among themselves: drop each point from its own
    list (k+1 were searched); where more than k+1 duplicates hide it, drop the first."""
    n = idx.shape[0]
    keep = idx != np.arange(n)[:, None]
    hidden = keep.all(axis=1)
    keep[hidden, 0] = False
    k = idx.shape[1] - 1
    return dist[keep].reshape(n, k), idx[keep].reshape(n, k)


def _class_doc(name, extra=""):
    return (f"scikit-learn's ``{name}`` with imgclf's nearest-neighbour search.\n\n"
            f"Parameters, attributes, errors and results are those of\n"
            f"``sklearn.neighbors.{name}`` (its documentation applies unchanged); where imgclf\n"
            f"does not accelerate a parameter or an input, scikit-learn's code runs.  See\n"
            f":mod:`imgclf.sklearn` for what is accelerated and the result conventions.{extra}\n")


class KNeighborsClassifier(_ImgclfSearch, _SK_CLASSES["KNeighborsClassifier"]):
    __doc__ = _class_doc("KNeighborsClassifier", "\n\nVote ties go to the smallest label, as in scikit-learn.")

    def fit(self, X, y):
        """Fit the k-nearest neighbours classifier (scikit-learn's ``fit``)."""
        return super().fit(X, y)._imgclf_after_fit()

    def _imgclf_uniform_votes(self, X):
        """Per output: (vote counts, classes) for uniform weights, or None when
        scikit-learn's code should vote."""
        check_is_fitted(self, "_fit_method")
        if not (isinstance(self.weights, str) and self.weights == "uniform"):
            return None  # "distance", None and callables: scikit-learn's voting on our kneighbors
        reason = self._imgclf_reason(X)
        if reason is not None:
            logger.debug("%s.predict: scikit-learn (%s)", type(self).__name__, reason)
            return None
        idx = self.kneighbors(X, return_distance=False)
        ys = self._y.reshape(-1, 1) if self._y.ndim == 1 else self._y
        classes = self.classes_ if self.outputs_2d_ else [self.classes_]
        out = []
        for j, cls in enumerate(classes):
            labels, scores = ops.vote(ys[:, j][idx], len(cls), tie_break="smallest")
            out.append((labels, scores, cls))
        return out

    def predict(self, X):
        """Class labels of the queries (scikit-learn's ``predict``; uniform votes are
        counted by imgclf, ties going to the smallest label)."""
        votes = self._imgclf_uniform_votes(X)
        if votes is None:
            return super().predict(X)
        pred = [cls[labels] for labels, _, cls in votes]
        return np.stack(pred, axis=1) if self.outputs_2d_ else pred[0]

    def predict_proba(self, X):
        """Class probabilities of the queries (scikit-learn's ``predict_proba``)."""
        votes = self._imgclf_uniform_votes(X)
        if votes is None:
            return super().predict_proba(X)
        proba = [scores / scores.sum(axis=1, keepdims=True) for _, scores, _ in votes]
        return proba if self.outputs_2d_ else proba[0]


class KNeighborsRegressor(_ImgclfSearch, _SK_CLASSES["KNeighborsRegressor"]):
    __doc__ = _class_doc("KNeighborsRegressor")

    def fit(self, X, y):
        """Fit the k-nearest neighbours regressor (scikit-learn's ``fit``)."""
        return super().fit(X, y)._imgclf_after_fit()


class NearestNeighbors(_ImgclfSearch, _SK_CLASSES["NearestNeighbors"]):
    __doc__ = _class_doc("NearestNeighbors", "\n\n``radius_neighbors`` and "
                         "``radius_neighbors_graph`` are scikit-learn's.")

    def fit(self, X, y=None):
        """Fit the nearest neighbours estimator (scikit-learn's ``fit``)."""
        return super().fit(X, y)._imgclf_after_fit()

    def radius_neighbors(self, X=None, radius=None, return_distance=True, sort_results=False):
        logger.debug("%s.radius_neighbors: scikit-learn (radius queries are not accelerated)",
                     type(self).__name__)
        return super().radius_neighbors(X, radius, return_distance, sort_results)


_ImgclfSearch.kneighbors.__doc__ = (
    "scikit-learn's ``kneighbors``, searched by imgclf where it applies (same arguments and "
    "results).\n" + (_SK_CLASSES["NearestNeighbors"].kneighbors.__doc__ or ""))
NearestNeighbors.radius_neighbors.__doc__ = _SK_CLASSES["NearestNeighbors"].radius_neighbors.__doc__


# ---- pairwise_distances ---------------------------------------------------------------

def _pairwise_plan(X, Y, metric, n_jobs, kwds):
    """(imgclf metric, X, Y, output dtype) when imgclf computes this call, else (None, why)."""
    if not isinstance(metric, str):
        return None, "a callable metric is not accelerated"
    kw = dict(kwds)
    kw.pop("ensure_all_finite", None)  # only matters for non-finite data, which falls back
    squared = kw.pop("squared", False) if metric in ("euclidean", "l2") else False
    if metric == "minkowski":
        p = kw.pop("p", 2)
        if p not in (1, 2) or isinstance(p, bool):
            return None, f"minkowski p={p!r} is not accelerated"
        name = "l1" if p == 1 else "l2"
    elif metric in ACCELERATED_METRICS:
        name = ACCELERATED_METRICS[metric]
    else:
        return None, f"metric {metric!r} is not accelerated"
    if kw:
        return None, f"keyword arguments {sorted(kw)} are not accelerated"
    if squared is True and name == "l2":
        name = "sqeuclidean"
    elif squared is not False:
        return None, f"squared={squared!r} is not accelerated"
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral)):
        return None, "n_jobs is checked by scikit-learn"
    arrays = [X] if Y is None else [X, Y]
    for a in arrays:
        if not _is_dense_array(a):
            return None, f"{type(a).__name__} input is not accelerated (NumPy arrays are)"
        if a.dtype.kind not in "biuf" or a.ndim != 2 or a.size == 0:
            return None, f"input of dtype {a.dtype} and shape {a.shape} is checked by scikit-learn"
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            return None, "non-finite input is handled by scikit-learn"
    if Y is not None and X.shape[1] != Y.shape[1]:
        return None, "mismatched feature counts are reported by scikit-learn"
    both32 = X.dtype == np.float32 and (Y is None or Y.dtype == np.float32)
    # scikit-learn returns float32 only for float32 euclidean, or when its joblib split
    # (n_jobs > 1) allocates the result; scipy's and its manhattan give float64
    if both32 and (metric in ("euclidean", "l2") or effective_n_jobs(n_jobs) != 1):
        out = np.float32
    else:
        out = np.float64
    return (name, out), None


def pairwise_distances(X, Y=None, metric="euclidean", *, n_jobs=None, **kwds):
    """scikit-learn's ``pairwise_distances`` (same arguments, results and dtypes), computed
    by imgclf for dense NumPy input with metric "euclidean"/"l2", "manhattan"/"cityblock"/
    "l1", "sqeuclidean" or "minkowski" (p = 1 or 2), ``squared=True`` included.

    Each distance is computed from the differences (no norms identity), in float64, or
    exactly for uint8 (or integer-valued [0, 255]) data; scikit-learn's output dtype is
    kept (float32 only where scikit-learn returns float32).  Every other call runs
    scikit-learn's own function.
    """
    plan, why = _pairwise_plan(X, Y, metric, n_jobs, kwds)
    if plan is None:
        logger.debug("pairwise_distances: scikit-learn (%s)", why)
        return _SK_PAIRWISE(X, Y, metric, n_jobs=n_jobs, **kwds)
    name, out = plan
    Xu, Yu = _as_uint8(X), (None if Y is None else _as_uint8(Y))
    if Xu is not None and (Y is None or Yu is not None):
        A, B = Xu, (Xu if Y is None else Yu)
    else:
        A = X.astype(np.float64, copy=False)
        B = A if Y is None else Y.astype(np.float64, copy=False)
    logger.debug("pairwise_distances: imgclf (%s, %d %s x %d %s x %d features)", name, A.shape[0], A.dtype,
                 B.shape[0], B.dtype, A.shape[1])
    return ops.pairwise_distances(A, B, name).astype(out, copy=False)


pairwise_distances.__signature__ = inspect.signature(_SK_PAIRWISE)


# ---- patching -----------------------------------------------------------------------------

# (module, attribute) -> the imgclf replacement
_PATCHES = [
    ("sklearn.neighbors", "KNeighborsClassifier", KNeighborsClassifier),
    ("sklearn.neighbors", "KNeighborsRegressor", KNeighborsRegressor),
    ("sklearn.neighbors", "NearestNeighbors", NearestNeighbors),
    # sklearn.neighbors.kneighbors_graph builds its NearestNeighbors from this name
    ("sklearn.neighbors._graph", "NearestNeighbors", NearestNeighbors),
    ("sklearn.metrics", "pairwise_distances", pairwise_distances),
    # pairwise_distances_chunked and the other functions of this module call this name
    ("sklearn.metrics.pairwise", "pairwise_distances", pairwise_distances),
]
_saved = {}


def patch_sklearn():
    """Make scikit-learn's names give imgclf's versions: after this,
    ``from sklearn.neighbors import KNeighborsClassifier`` (and ``KNeighborsRegressor``,
    ``NearestNeighbors``, ``sklearn.neighbors.kneighbors_graph``,
    ``sklearn.metrics.pairwise_distances``) use imgclf's search.

    Call it before the code to speed up imports those names (a name imported earlier keeps
    the original).  The classes defined in scikit-learn's private modules are left alone,
    so objects created before patching still pickle.  Idempotent; undo with
    :func:`unpatch_sklearn`.  Returns the list of patched names.
    """
    done = []
    for mod_name, attr, new in _PATCHES:
        mod = importlib.import_module(mod_name)
        if not hasattr(mod, attr):
            continue
        key = (mod_name, attr)
        if key not in _saved:
            _saved[key] = getattr(mod, attr)
        setattr(mod, attr, new)
        done.append(f"{mod_name}.{attr}")
    logger.debug("patched %s", ", ".join(done))
    return done


def unpatch_sklearn():
    """Give scikit-learn's names back their original objects."""
    for (mod_name, attr), old in list(_saved.items()):
        setattr(importlib.import_module(mod_name), attr, old)
        del _saved[(mod_name, attr)]
    logger.debug("unpatched scikit-learn")


def sklearn_is_patched():
    """True while :func:`patch_sklearn` is in effect."""
    return any(getattr(importlib.import_module(m), a, None) is new for m, a, new in _PATCHES)
