"""The one registry that says which backend runs an op for which input, and the one
resolver that walks it.

Every public op in :mod:`imgclf.ops` validates its arguments once, then calls
``OP.run(backend, like, *args)``.  Each backend registers its implementation of the op with
``@OP.register(name, usable=...)``: ``usable(*args)`` says whether that implementation takes
these (already validated) arguments, ``run`` computes -- the split of scikit-learn's
pairwise-distances-reduction dispatcher (``is_usable_for`` / ``compute``).  The resolver
(:func:`imgclf.backend.candidates`) orders the backends for the array type of ``like`` and
the ``backend=`` request; the first registered, available and usable one runs.

Backends: ``cpu`` (imgclf._cpu), ``cuda`` (imgclf._cuda, CuPy arrays), ``numpy`` (the
reference, imgclf._reference, which also runs on CuPy arrays) and ``dask`` (dask arrays,
registered by :mod:`imgclf.dask` when it is imported).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

from .. import backend as _backend

__all__ = ["Op", "OPS", "enum", "Array", "Params"]

# Arrays the ops take and give: NumPy arrays, or CuPy arrays / torch tensors where a
# docstring says so (they stay on their device).
Array = Any
# one array, or a list of them (the multi-tensor form of the optimizer steps)
Params = Union[Array, Sequence[Array]]  # noqa: UP007 (a runtime alias: X | Y needs 3.10 types)


class Op:
    """One op's implementations, one per backend."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.impls = {}  # backend name -> (usable or None, run)
        OPS[name] = self

    def register(self, backend: str, usable: Callable[..., bool] | None = None) -> Callable[[Callable], Callable]:
        """Decorator: ``run`` is this op on ``backend``; ``usable(*args, **kwargs)`` (optional)
        says whether it takes these arguments."""
        def deco(run):
            self.impls[backend] = (usable, run)
            return run
        return deco

    def backends_for(self, backend: str, like: Any) -> list[str]:
        """The backend names that would be tried for ``like``, in order."""
        return [b for b in _backend.candidates(backend, like) if b in self.impls and _backend.available(b)]

    def run(self, backend: str, like: Any, *args: Any, **kwargs: Any) -> Any:
        """Run the first registered, available backend whose implementation is usable."""
        tried = _backend.candidates(backend, like)
        for name in tried:
            impl = self.impls.get(name)
            if impl is None or not _backend.available(name):
                continue
            usable, run = impl
            if usable is None or usable(*args, **kwargs):
                return run(*args, **kwargs)
        raise TypeError(f"{self.name}: no backend takes these inputs (tried {', '.join(tried)}; "
                        f"registered: {', '.join(self.impls) or 'none'})")

    def __repr__(self) -> str:
        return f"<imgclf op {self.name}: {', '.join(self.impls)}>"


OPS = {}  # name -> Op: every op of imgclf.ops, for introspection and tests

_ENUMS = {}


def enum(module: Any, kind: str, name: str) -> Any:
    """The compiled module's enum member for a public string: enum(_cpu, "Metric", "l2")."""
    key = (id(module), kind, name)
    v = _ENUMS.get(key)
    if v is None:
        v = _ENUMS[key] = getattr(getattr(module, kind), name)
    return v
