"""When the generated loop pays for itself: the rule behind ``specialise="auto"``.

The loop generated for a layout trains faster than the generic loop, but costs a
compile the first time that layout is trained (then it is cached). ``auto`` takes
it only when the fit is large enough for the time it saves to pay for that
compile, with the generic loop taken as already compiled (it is, after the first
fit of a dtype on a machine): so ``auto`` never makes a fit slower end to end than
the generic loop would have been.

Both sides are estimates from the network alone, fixed in advance, never timed
while training, so the choice (and therefore the result, bit for bit) does not
depend on the machine's load or on what happens to be cached:

- the compile: :data:`COMPILE_SECONDS_PER_LINE` per line of the generated
  source (its length, and so Numba's work, is bounded whatever the widths);
- the time saved per sample: :data:`SAVED_NS_PER_SAMPLE`, plus
  :data:`SAVED_NS_PER_MAC` per multiply-add of the forward pass (an image-wide input
  layer's counted at :data:`NONZERO_SHARE`), plus, for an optimizer with state,
  :data:`SAVED_NS_PER_PARAMETER` (the generated loop fuses its update into
  backprop); less, as :data:`REGISTER_VECTORS` over its width, for a layer too
  wide to keep its sums in registers.

The constants are lower bounds of what ``bench/bench_cold_start.py``'s
``--calibrate`` measures on x86-64 (AVX2), in CPU time: they understate the time
saved, so the rule errs toward the generic loop.
"""

from __future__ import annotations

import functools

from fastnn.codegen import generator
from fastnn.kernels import codes
from fastnn.kernels.tuning import WIDE_INPUT

__all__ = [
    "break_even_samples",
    "compile_seconds_estimate",
    "plain_sgd",
    "saved_seconds_per_sample",
]

#: CPU seconds Numba takes per line of a generated module (measured 0.009-0.018).
COMPILE_SECONDS_PER_LINE = 0.018
#: Time the generated loop saves per sample, whatever the network (the generic
#: loop's per-sample and per-layer bookkeeping), in nanoseconds.
SAVED_NS_PER_SAMPLE = 60.0
#: ... and per multiply-add of the forward pass (sums in registers, exact vectors;
#: measured 0.19 on 784-40-10 over Fashion-MNIST, 0.46 on 64-64-10 over dense inputs).
SAVED_NS_PER_MAC = 0.16
#: The share of an image-wide input layer's multiply-adds taken as done: both loops skip
#: zero inputs, and about half the pixels of MNIST-like images are zero.
NONZERO_SHARE = 0.5
#: ... and per parameter for an optimizer with state (Adam, RMSProp, momentum...:
#: measured 0.23 on 784-40-10 with Adam).
SAVED_NS_PER_PARAMETER = 0.1
#: Layers wider than this many vectors keep less of their sums in registers: their
#: saving per multiply-add falls as REGISTER_VECTORS / width (measured: 0.09 per
#: multiply-add at 25 vectors, 0.05 at 32 and 64, 0.03 at 128).
REGISTER_VECTORS = 6


def plain_sgd(opt_code, hyper):
    """Whether an optimizer is SGD without momentum or weight decay (no state, no step)."""
    return bool(
        opt_code == codes.SGD and hyper[codes.SGD_MOMENTUM] == 0 and hyper[codes.WEIGHT_DECAY] == 0
    )


@functools.lru_cache(maxsize=256)
def compile_seconds_estimate(spec):
    """Estimated CPU seconds to compile the loop generated for ``spec``."""
    from fastnn.codegen.cache import source_text

    return COMPILE_SECONDS_PER_LINE * source_text(spec).count("\n")


@functools.lru_cache(maxsize=256)
def saved_seconds_per_sample(spec):
    """A lower bound of the time the generated loop saves per sample over the generic one."""
    sizes = spec.sizes
    products = [fan_in * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)]
    saved = SAVED_NS_PER_SAMPLE
    for layer, macs in enumerate(products):
        if layer == 0 and sizes[0] >= WIDE_INPUT:
            macs *= NONZERO_SHARE
        vectors = sizes[layer + 1] / spec.lanes
        saved += SAVED_NS_PER_MAC * min(1.0, REGISTER_VECTORS / vectors) * macs
    if generator.STATE_ROWS_USED[spec.optimizer] > 0:
        parameters = sum(products) + sum(sizes[1:])
        saved += SAVED_NS_PER_PARAMETER * parameters
    return saved * 1e-9


@functools.lru_cache(maxsize=256)
def break_even_samples(spec):
    """Samples (rows times epochs) from which ``auto`` takes the loop generated for ``spec``.

    The compile estimate over the time saved per sample, rounded up.
    """
    return int(-(-compile_seconds_estimate(spec) // saved_seconds_per_sample(spec)))
