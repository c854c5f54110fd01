"""The arithmetic the loops share: optimizer steps, activations and their derivatives.

:class:`Formulas` adds to :class:`fastnn.codegen.emit.Emitter` the code of one
optimizer step on a vector of parameters (every kind of
:data:`fastnn.codegen.spec.OPTIMIZER_KINDS`, with its state in memory or in
registers), the per-step scalars those steps read, and the hidden activations
with their derivatives, following :mod:`fastnn.kernels.optimizers` and
:mod:`fastnn.kernels.activations` formula for formula.
"""

from fastnn.codegen.emit import Emitter
from fastnn.kernels.codes import IDENTITY, LEAKY_RELU, LEAKY_RELU_SLOPE, RELU, SIGMOID, STEP, TANH

# Scalars of the hyper-parameter slots each optimizer kind reads, named as the
# generated code names them (see kernels.optimizers for the slots).
_HYPER_SCALARS = {
    "sgd_decay": ("wd = {dt}(hyper[codes.WEIGHT_DECAY])",),
    "sgd_momentum": (
        "mu = {dt}(hyper[codes.SGD_MOMENTUM])",
        "keep = {dt}(1) - {dt}(hyper[codes.SGD_DAMPENING])",
        "wd = {dt}(hyper[codes.WEIGHT_DECAY])",
    ),
    "sgd_nesterov": (
        "mu = {dt}(hyper[codes.SGD_MOMENTUM])",
        "keep = {dt}(1) - {dt}(hyper[codes.SGD_DAMPENING])",
        "wd = {dt}(hyper[codes.WEIGHT_DECAY])",
    ),
    "adagrad": ("eps = {dt}(hyper[codes.ADAGRAD_EPS])", "wd = {dt}(hyper[codes.WEIGHT_DECAY])"),
    "rmsprop": (
        "alpha = {dt}(hyper[codes.RMSPROP_ALPHA])",
        "akeep = {dt}(1) - {dt}(hyper[codes.RMSPROP_ALPHA])",
        "eps = {dt}(hyper[codes.RMSPROP_EPS])",
        "mu = {dt}(hyper[codes.RMSPROP_MOMENTUM])",
        "wd = {dt}(hyper[codes.WEIGHT_DECAY])",
    ),
    "adadelta": (
        "rho = {dt}(hyper[codes.ADADELTA_RHO])",
        "rkeep = {dt}(1) - {dt}(hyper[codes.ADADELTA_RHO])",
        "eps = {dt}(hyper[codes.ADADELTA_EPS])",
        "wd = {dt}(hyper[codes.WEIGHT_DECAY])",
    ),
    "adam": (
        "b1 = {dt}(hyper[codes.ADAM_BETA1])",
        "b2 = {dt}(hyper[codes.ADAM_BETA2])",
        "k1 = {dt}(1) - {dt}(hyper[codes.ADAM_BETA1])",
        "k2 = {dt}(1) - {dt}(hyper[codes.ADAM_BETA2])",
        "eps = {dt}(hyper[codes.ADAM_EPS])",
        "wd = {dt}(hyper[codes.WEIGHT_DECAY])",
    ),
}


class Formulas(Emitter):
    """An emitter that also writes optimizer steps, activations and derivatives."""

    # ------------------------------------------------------------ the optimizer's scalars

    def hyper_scalars(self):
        """Emit the scalars of the hyper-parameter slots the optimizer reads, before the loop."""
        family = "rmsprop" if self.kind.startswith("rmsprop") else self.kind
        family = "adam" if family.startswith("adam") else family
        for line in _HYPER_SCALARS.get(family, ()):
            self.w(line.format(dt=self.dt))

    def step_constants(self):
        # Scalars that change with the step count t: the learning rate (with
        # its per-step decay, kernels.optimizers.step_lr) and the optimizer's.
        w, dt, kind = self.w, self.dt, self.kind
        w("lr = step_lr(hyper, step[0] + 1)")
        w("nlr = -lr")
        if kind.startswith("adam"):
            w(f"shrink = {dt}(1) - lr * {dt}(hyper[codes.ADAMW_DECAY])")
        w("step[0] += 1")
        if not self.stateful and kind != "adagrad":
            return
        w("t = step[0]")
        if kind in ("sgd_momentum", "sgd_nesterov"):
            # The first step sets the momentum buffer to g (torch): 0 * b + 1 * g.
            w(f"p_mu = mu if t > 1 else {self.c(0.0)}")
            w(f"p_keep = keep if t > 1 else {self.c(1.0)}")
        elif kind == "adagrad":
            w(f"p_clr = {dt}(lr / (1.0 + (t - 1) * hyper[codes.ADAGRAD_LR_DECAY]))")
        elif kind.startswith("adam"):
            w(f"p_step = {dt}(lr / (1.0 - float(hyper[codes.ADAM_BETA1]) ** t))")
            w(f"p_c2 = {dt}(np.sqrt(1.0 - float(hyper[codes.ADAM_BETA2]) ** t))")

    # ------------------------------------------------------------ optimizer updates

    def update(self, th, gradient, offset, width, registers=False):
        """Emit the optimizer step of one vector of parameters; return the new values' name.

        ``th`` names the current values (already loaded), ``gradient`` is an
        expression for their gradient, ``offset`` is where they live in
        ``theta`` and in each state row. With ``registers=True`` the state rows
        are variables named ``{th}_s0``... (register mode). Storing the new
        values is the caller's job; the state is stored here.
        """
        w, kind = self.w, self.kind
        new = self.fresh("u")
        g = self.fresh("g")

        def s(name):
            return self.splat(name, width)

        def flush(expression):
            # Stored state below the smallest normal number becomes 0: by the
            # CPU's flush-to-zero mode when it is on, else here, in software.
            return expression if self.ftz else f"vflush({expression}, {s('tiny')})"

        def state_load(row):
            return f"{th}_s{row}" if registers else self.load(f"S{row}", offset, width)

        def state_store(row, value):
            if registers:
                w(f"{th}_s{row} = {value}")
            else:
                self.store(f"S{row}", offset, value)

        if kind == "sgd":
            w(f"{new} = vfma({s('nlr')}, {gradient}, {th})")
            return new
        if kind.startswith("adam"):
            w(f"{g}_th = vmul({th}, {s('shrink')})")
            w(f"{g} = vfma({s('wd')}, {g}_th, {gradient})")
            m = flush(f"vfma({s('b1')}, {state_load(0)}, vmul({s('k1')}, {g}))")
            w(f"{g}_m = {m}")
            state_store(0, f"{g}_m")
            v = flush(f"vfma({s('b2')}, {state_load(1)}, vmul(vmul({s('k2')}, {g}), {g}))")
            w(f"{g}_v = {v}")
            state_store(1, f"{g}_v")
            v = f"{g}_v"
            if kind == "adam_amsgrad":
                w(f"{g}_x = vmax({state_load(2)}, {g}_v)")
                state_store(2, f"{g}_x")
                v = f"{g}_x"
            w(
                f"{new} = vsub({g}_th, vdiv(vmul({s('p_step')}, {g}_m), "
                f"vadd(vdiv(vsqrt({v}), {s('p_c2')}), {s('eps')})))"
            )
            return new
        w(f"{g} = vfma({s('wd')}, {th}, {gradient})")
        if kind == "sgd_decay":
            w(f"{new} = vfma({s('nlr')}, {g}, {th})")
        elif kind in ("sgd_momentum", "sgd_nesterov"):
            b = flush(f"vfma({s('p_mu')}, {state_load(0)}, vmul({s('p_keep')}, {g}))")
            w(f"{g}_b = {b}")
            state_store(0, f"{g}_b")
            if kind == "sgd_nesterov":
                w(f"{new} = vfma({s('nlr')}, vfma({s('mu')}, {g}_b, {g}), {th})")
            else:
                w(f"{new} = vfma({s('nlr')}, {g}_b, {th})")
        elif kind == "adagrad":
            w(f"{g}_s = vfma({g}, {g}, {state_load(0)})")
            state_store(0, f"{g}_s")
            w(f"{new} = vsub({th}, vdiv(vmul({s('p_clr')}, {g}), vadd(vsqrt({g}_s), {s('eps')})))")
        elif kind.startswith("rmsprop"):
            v = flush(f"vfma({s('alpha')}, {state_load(0)}, vmul(vmul({s('akeep')}, {g}), {g}))")
            w(f"{g}_v = {v}")
            state_store(0, f"{g}_v")
            if "centered" in kind:
                a = flush(f"vfma({s('alpha')}, {state_load(1)}, vmul({s('akeep')}, {g}))")
                w(f"{g}_a = {a}")
                state_store(1, f"{g}_a")
                # Clamped at 0, as kernels.optimizers does (NaN stays NaN).
                w(f"{g}_den = vadd(vsqrt(vrelu(vsub({g}_v, vmul({g}_a, {g}_a)))), {s('eps')})")
            else:
                w(f"{g}_den = vadd(vsqrt({g}_v), {s('eps')})")
            if "momentum" in kind:
                b = flush(f"vfma({s('mu')}, {state_load(2)}, vdiv({g}, {g}_den))")
                w(f"{g}_b = {b}")
                state_store(2, f"{g}_b")
                w(f"{new} = vfma({s('nlr')}, {g}_b, {th})")
            else:
                w(f"{new} = vsub({th}, vdiv(vmul({s('lr')}, {g}), {g}_den))")
        elif kind == "adadelta":
            v = flush(f"vfma({s('rho')}, {state_load(0)}, vmul(vmul({s('rkeep')}, {g}), {g}))")
            w(f"{g}_v = {v}")
            state_store(0, f"{g}_v")
            w(f"{g}_u = {state_load(1)}")
            w(
                f"{g}_d = vmul(vdiv(vsqrt(vadd({g}_u, {s('eps')})), "
                f"vsqrt(vadd({g}_v, {s('eps')}))), {g})"
            )
            u = flush(f"vfma({s('rho')}, {g}_u, vmul(vmul({s('rkeep')}, {g}_d), {g}_d))")
            state_store(1, u)
            w(f"{new} = vfma({s('nlr')}, {g}_d, {th})")
        else:  # pragma: no cover - OPTIMIZER_KINDS is closed
            raise ValueError(kind)
        return new

    # ------------------------------------------------------------ activations

    def apply_activation(self, code, vector, width):
        """Emit activation ``code`` of a vector of pre-activations; return its name."""
        w = self.w
        name = self.fresh("h")
        if code == RELU:
            w(f"{name} = vrelu({vector})")
        elif code == IDENTITY:
            w(f"{name} = {vector}")
        elif code == LEAKY_RELU:
            slope = self.splat(self.c(LEAKY_RELU_SLOPE), width)
            w(f"{name} = vadd(vrelu({vector}), vmul({slope}, vsub({vector}, vrelu({vector}))))")
        else:
            # sigmoid, tanh, step: lane by lane through the generic loop's scalar code
            w(f"{name} = {vector}")
            for lane in range(width):
                w(
                    f"{name} = vset({name}, {lane}, activation_scalar({code}, vget({vector}, "
                    f"{lane})))"
                )
        return name

    def derivative(self, code, activation, delta, width):
        """Return an expression for ``delta * f'(.)`` computed from the output ``activation``."""
        one = self.splat(self.c(1.0), width)
        if code == RELU:
            return f"vwhere_positive({activation}, {delta})"
        if code == IDENTITY:
            return delta
        if code == STEP:
            return self.splat(self.c(0.0), width)
        if code == SIGMOID:
            return f"vmul({delta}, vmul({activation}, vsub({one}, {activation})))"
        if code == TANH:
            return f"vmul({delta}, vsub({one}, vmul({activation}, {activation})))"
        if code == LEAKY_RELU:
            slope = self.splat(self.c(LEAKY_RELU_SLOPE), width)
            positive = f"vwhere_positive({activation}, {delta})"
            return f"vadd({positive}, vmul({slope}, vsub({delta}, {positive})))"
        raise ValueError(code)
