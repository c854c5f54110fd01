"""Per-sample epoch loops generated for one network layout.

:func:`fastnn.kernels.train.train_epoch_sample` handles any network, so it reads the
layer widths from the layout table at run time: every row of every layer is a
loop of unknown length, split by LLVM into vector blocks plus leftovers, and
the running sums of a layer live in memory (a load and a store per vector, each
input row waiting on the last row's store, because LLVM cannot prove that the
sums and ``theta`` do not overlap).

:func:`source` writes the same epoch as Python source for one layout, with the
widths as constants and the arithmetic in explicit SIMD vectors
(:mod:`fastnn.kernels._simd`): a layer's running sums are SSA vector values, so they
stay in registers while the weight rows stream past; rows and vectors have
fixed counts, with a masked last vector instead of remainder loops; zero inputs
(blank pixels, inactive ReLUs) are skipped by iterating the set bits of a
nonzero mask instead of branching on every value; plain SGD fuses the first
layer's update with the next sample's forward pass, so the largest matrix is
streamed once per sample; a stateful optimizer (Adam, ...) updates each row of
``theta`` and its state vectors in the same pass that computes the row's
gradient, with no gradient buffer; a network small enough (the course's 2-10-1)
keeps every weight in registers for the whole epoch.

The generated function has the signature of ``train_epoch_sample`` and ignores
the arguments its layout fixes (``layout``, ``loss_code``, ``opt_code``), so the
caller can use either. It does not do dropout (``dropout`` must be all zero:
networks with dropout train on the generic loop). It follows the same formulas
in the same order up to floating-point reassociation (sums of a different
length, FMAs): results agree with the generic loop and with
:mod:`fastnn.kernels.reference` to float tolerance.

The module is plain text, written by ``fastnn`` to a cache directory and
imported from there, so Numba's on-disk cache (``cache=True``) keeps the
compiled code between processes.

The generator lives in rooms of one concern each: :mod:`fastnn.codegen.spec`
(what the code depends on, the layers' geometry, the choice of mode),
:mod:`fastnn.codegen.emit` (writing lines, vector primitives, the loops over a
layer's values), :mod:`fastnn.codegen.formulas` (optimizer steps, activations),
:mod:`fastnn.codegen.memory_forward` and :mod:`fastnn.codegen.memory_loop` (the
loop with the weights in memory), :mod:`fastnn.codegen.register_loop` (the loop
with the weights in registers). This module writes the module around the loop
and keeps the names the rest of fastnn reads.
"""

import sys
from pathlib import Path

from fastnn.codegen.memory_loop import MemoryLoop
from fastnn.codegen.register_loop import RegisterLoop

# The names the rest of fastnn (the cache, the policy, the tests) reads from here.
from fastnn.codegen.spec import (
    GENERATOR_VERSION,
    OPTIMIZER_KINDS,
    STATE_ROWS_USED,
    Spec,
    covers,
    lanes_for,
    optimizer_kind,
    pieces,
    register_mode,
    registers_for,
)

__all__ = [
    "GENERATOR_VERSION",
    "OPTIMIZER_KINDS",
    "STATE_ROWS_USED",
    "Spec",
    "covers",
    "lanes_for",
    "optimizer_kind",
    "pieces",
    "register_mode",
    "registers_for",
    "source",
    "source_files",
    "streams_any",
]


def streams_any(spec):
    """Whether a pass of the loop for ``spec`` streams whole rows (a layer too wide for tiles)."""
    writer = _Generator(spec)
    if writer.registers_mode:
        return False
    first = writer.layers[0]
    wide = [
        writer.streams(layer.fan_out, writer.sum_tile)
        for layer in writer.layers
        if not layer.column
    ]
    return any(wide) or (not first.column and writer.streams(first.fan_out, writer.fused_tile))


def source(spec):
    """Return the Python source of a module defining ``train_epoch`` for ``spec``.

    Parameters
    ----------
    spec : Spec

    Returns
    -------
    str
    """
    return _Generator(spec).module()


def source_files():
    """Return the paths of the modules whose code writes the text of :func:`source`.

    The kernels' fingerprint (:mod:`fastnn.codegen.cache`) hashes them: any change
    to the generator gives its modules new cache files. Read from the generator's
    classes, so a room added to them is hashed without being listed here.

    Returns
    -------
    list of pathlib.Path
    """
    modules = {kind.__module__ for kind in _Generator.__mro__ if kind is not object}
    modules.add(Spec.__module__)
    return sorted(Path(str(sys.modules[name].__file__)) for name in modules)


class _Generator(MemoryLoop, RegisterLoop):
    """Writes the whole module for one spec: its header, ``train_epoch`` and ``train_models``.

    The loop body is :class:`fastnn.codegen.memory_loop.MemoryLoop`'s or, for a
    network whose weights fit in registers,
    :class:`fastnn.codegen.register_loop.RegisterLoop`'s.
    """

    def module(self):
        spec = self.spec
        w = self.w
        w(f'"""Generated by fastnn.codegen.generator (version {GENERATOR_VERSION}); do not edit.')
        w()
        w(
            f"Network {'-'.join(map(str, spec.sizes))}, hidden activation codes "
            f"{list(spec.activations)}, loss code {spec.loss_code}, {spec.dtype}, optimizer"
        )
        w(
            f"{spec.optimizer}, {spec.lanes}-lane vectors, {spec.registers} registers, "
            f"{'register' if self.registers_mode else 'memory'} mode"
            f"{', first layer pipelined' if self.pipelined else ''}."
        )
        w('"""')
        w()
        w("import numpy as np")
        w("from numba import prange")
        w()
        w("from fastnn.kernels._intrinsics import (")
        w("    flush_denormals,")
        w("    prefetch_element,")
        w("    prefetch_row,")
        w("    restore_mxcsr,")
        w(")")
        w("from fastnn.kernels import codes")
        w("from fastnn.kernels._jit import jit")
        w("from fastnn.kernels.bundles import member_row")
        w("from fastnn.kernels._simd import (")
        for name in (
            "trailing_zeros",
            "vadd",
            "vdiv",
            "vflush",
            "vfma",
            "vget",
            "vload",
            "vmax",
            "vmul",
            "vnonzero_bits",
            "vnonzero_mask",
            "vrelu",
            "vset",
            "vsplat",
            "vsqrt",
            "vstore",
            "vsub",
            "vsum",
            "vwhere_positive",
        ):
            w(f"    {name},")
        w(")")
        w("from fastnn.kernels.activations import activation_scalar, derivative_scalar")
        w("from fastnn.kernels.optimizers import smallest_normal, step_lr")
        w("from fastnn.kernels.train import sample_correct, sample_loss_delta")
        w()
        w()
        w("@jit")
        w("def train_epoch(group, member):")
        w.indent()
        w('"""One epoch of per-sample training; see fastnn.kernels.train.train_epoch_sample."""')
        # The group's layout, loss and optimizer code are this module's constants.
        w("X, T = group.X, group.T")
        w("theta, state, hyper, step = member.theta, member.state, member.hyper, member.step")
        w("order, acts, deltas, y = member.order, member.acts, member.deltas, member.y")
        w("step_losses, step_correct = member.losses, member.correct")
        w("n_steps = order.shape[0]")
        w("if n_steps == 0:")
        w("    return 0")
        if self.ftz:
            w("csr = flush_denormals()")
        w("y_row = y[0]")
        w(f"n_inputs = {spec.sizes[0]}")
        w("XF = X.reshape(X.size)")
        w("S0 = state[0]")
        w("S1 = state[1]")
        w("S2 = state[2]")
        w(f"lr = {self.dt}(hyper[codes.LR])")
        w("nlr = -lr")
        w("tiny = smallest_normal(theta)")
        self.hyper_scalars()
        if self.registers_mode:
            self.register_body()
        else:
            self.memory_body()
        w.dedent()
        self.many_models()
        return w.text()

    def many_models(self):
        """Emit ``train_models``: one epoch of each of M networks, one per thread.

        See :mod:`fastnn.kernels.parallel`; each thread calls ``train_epoch`` on its
        network's rows of the stacked arrays, so each network trains exactly as
        it would alone.
        """
        w = self.w
        w()
        w()
        w("@jit(parallel=True)")
        w("def train_models(group, members, done):")
        w.indent()
        w('"""One epoch of each network; see fastnn.kernels.parallel.train_models_sample."""')
        w("for m in prange(members.theta.shape[0]):")
        w("    done[m] = train_epoch(group, member_row(members, m))")
        w.dedent()
