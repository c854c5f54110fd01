"""Per-sample epoch loops generated for one network layout, compiled once and cached.

:mod:`fastnn.codegen.generator` writes the loop of one layout as Python source;
:mod:`fastnn.codegen.cache` writes that source to the kernel cache, imports it and
keeps the compiled kernels for the life of the process. :func:`sample_loop` is what
the training engine asks: which per-sample loop trains this network, and
:class:`CompileWatch` compiles a loop before the first epoch starts its clock, and
says so (:func:`compile_notices`).

Which loop ``specialise="auto"`` takes is a fixed rule of the network, the
optimizer and the size of the fit, never of timing or of what happens to be
cached (so results never depend on either): the generated loop when the fit's
samples (rows times epochs) reach :func:`break_even_samples` of its layout, the
number of samples whose time saved pays for compiling it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from fastnn.codegen import cache, policy
from fastnn.codegen.generator import Spec
from fastnn.codegen.policy import break_even_samples, compile_seconds_estimate
from fastnn.kernels.disk_cache import KernelCacheWarning

__all__ = [
    "CompileWatch",
    "KernelCacheWarning",
    "SampleLoop",
    "Spec",
    "break_even_samples",
    "compile_notices",
    "compile_seconds_estimate",
    "loop_source",
    "sample_loop",
    "uses_generated_loop",
]


@dataclass(frozen=True)
class SampleLoop:
    """The per-sample loop that trains a network: one network, or many of one layout.

    Attributes
    ----------
    train_epoch : callable
        One epoch of one network (the signature of
        :func:`fastnn.kernels.train.train_epoch_sample`).
    train_models : callable
        One epoch of each of many networks of the same layout, one per thread
        (:func:`fastnn.kernels.parallel.train_models_sample`'s signature).
    spec : Spec or None
        The generated loop's spec; None for the generic loop.
    key : hashable
        What the compiled code depends on: networks with equal keys train in
        one call of ``train_models``.
    description : str
        What the loop is, for a message ("the loop generated for 784-40-10
        float32, sgd").
    """

    train_epoch: Callable[..., Any]
    train_models: Callable[..., Any]
    spec: Spec | None
    key: Any = None
    description: str = "the per-sample loop"


def uses_generated_loop(
    specialise: bool | Literal["auto"],
    backend: str,
    n_rows: int,
    dropout: Sequence[float],
    epochs: int = 1,
    spec: Spec | None = None,
) -> bool:
    """Whether a per-sample fit of ``n_rows`` rows for ``epochs`` epochs takes the generated loop.

    The NumPy reference backend never does, nor does a network with dropout (the
    generated loops have none), nor one the generator does not cover
    (``spec`` None); ``specialise`` True always does otherwise, False never, and
    "auto" when ``n_rows * epochs`` reaches :func:`break_even_samples` of ``spec``.
    """
    if backend != "numba" or specialise is False or any(dropout) or spec is None:
        return False
    return specialise is True or n_rows * epochs >= break_even_samples(spec)


def sample_loop(
    backend_kernels: Any,
    sizes: Sequence[int],
    layout: np.ndarray,
    loss_code: int,
    dtype: np.dtype[Any],
    opt_code: int,
    hyper: np.ndarray,
    *,
    specialise: bool | Literal["auto"],
    backend: str,
    n_rows: int,
    dropout: Sequence[float],
    epochs: int = 1,
) -> SampleLoop:
    """Return the per-sample loop for a network, an optimizer and a fit's size.

    Parameters
    ----------
    backend_kernels : module
        :mod:`fastnn.kernels` or :mod:`fastnn.kernels.reference`: the generic loops.
    sizes, layout, loss_code, dtype
        The network (:class:`fastnn.MLP`'s attributes of those names).
    opt_code, hyper
        The optimizer's code and hyper-parameter vector.
    specialise, backend, dropout
        The network's settings.
    n_rows, epochs : int
        Rows per epoch and epochs of the fit (one call of ``fit``).
    """
    dtype_name = np.dtype(dtype).name
    spec = cache.spec_for(sizes, layout, loss_code, dtype, opt_code, hyper)
    if uses_generated_loop(specialise, backend, n_rows, dropout, epochs, spec):
        assert spec is not None
        module = cache.module_for(spec)
        return SampleLoop(
            module.train_epoch,
            module.train_models,
            spec,
            spec,
            f"the loop generated for {'-'.join(map(str, spec.sizes))} {dtype_name}, "
            f"{spec.optimizer}",
        )
    plain = policy.plain_sgd(opt_code, hyper)
    dropping = bool(any(dropout))
    kind = "plain SGD" if plain else "an optimizer with state"
    return SampleLoop(
        backend_kernels.train_epoch_sample,
        backend_kernels.train_models_sample,
        None,
        ("generic", backend, plain, dropping),
        f"fastnn's per-sample loop for {dtype_name} networks, {kind}"
        f"{', dropout' if dropping else ''}",
    )


def loop_source(
    sizes: Sequence[int],
    layout: np.ndarray,
    loss_code: int,
    dtype: np.dtype[Any],
    opt_code: int,
    hyper: np.ndarray,
) -> str | None:
    """Return the Python source generated for a network and optimizer, or None.

    The text that is written to the kernel cache and compiled (None when the
    generator does not cover the network: the generic loop trains it).
    """
    spec = cache.spec_for(sizes, layout, loss_code, dtype, opt_code, hyper)
    return None if spec is None else cache.source_text(spec)


# --------------------------------------------------------------------------- compile notices

_notices = threading.local()


@contextlib.contextmanager
def compile_notices(callback: Callable[[str], object]) -> Iterator[None]:
    """Send the one-line notices of :class:`CompileWatch` in this thread to ``callback``.

    Nested uses stack: the innermost callback gets each notice. The command
    line uses this to print the line itself and to know a compile happened.
    """
    stack = getattr(_notices, "stack", None)
    if stack is None:
        stack = _notices.stack = []
    stack.append(callback)
    try:
        yield
    finally:
        stack.pop()


def _listening() -> Callable[[str], object] | None:
    stack = getattr(_notices, "stack", None)
    return stack[-1] if stack else None


class CompileWatch:
    """Runs the first calls of compiled kernels, saying once when one of them compiles.

    Used as a context manager around :meth:`run` calls, before the first epoch of a
    fit, so that the epochs' clock counts training only. When Numba starts
    compiling something during a :meth:`run` (in this thread), one line goes to
    the innermost :func:`compile_notices` callback, or else to ``notify``:
    "compiling <what>, once; cached in <where>". Nothing is said when
    everything comes from memory or the disk cache.

    Attributes
    ----------
    seconds : float
        Time spent compiling so far.
    compiled : list of str
        What was compiled, one description per :meth:`run` that compiled.
    """

    def __init__(self, notify: Callable[[str], object] | None = None) -> None:
        self.notify = _listening() or notify
        self.seconds = 0.0
        self.compiled: list[str] = []
        self._said = False
        self._thread = threading.get_ident()
        self._depth = 0
        self._started = 0.0
        self._current: tuple[str, Any] | None = None
        self._context: Any = None

    def __enter__(self) -> CompileWatch:
        from numba.core import event

        watch = self

        class Listener(event.Listener):
            def on_start(self, _event: Any) -> None:
                watch._on_start()

            def on_end(self, _event: Any) -> None:
                watch._on_end()

        self._context = event.install_listener("numba:compile", Listener())
        self._context.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._context.__exit__(*exc)

    def run(self, description: str, kernel: Any, call: Callable[[], object]) -> None:
        """Make ``call`` (a first call of ``kernel``, what ``description`` names)."""
        self._current = (description, kernel)
        try:
            call()
        finally:
            self._current = None

    def _on_start(self) -> None:
        if threading.get_ident() != self._thread or self._current is None:
            return
        if self._depth == 0:
            self._started = time.perf_counter()
            description, kernel = self._current
            if not self.compiled or self.compiled[-1] != description:
                self.compiled.append(description)
            if not self._said and self.notify is not None:
                self._said = True
                self.notify(f"compiling {description}, once; {cache.location_of(kernel)}")
        self._depth += 1

    def _on_end(self) -> None:
        if threading.get_ident() != self._thread or self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0:
            self.seconds += time.perf_counter() - self._started
