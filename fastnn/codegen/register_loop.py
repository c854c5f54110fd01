"""The register-mode loop: every weight (and optimizer state) in registers for the epoch.

For a network as small as the course's 2-10-1 (:func:`fastnn.codegen.spec.register_mode`)
:class:`RegisterLoop` writes a loop that loads the weights once, trains every
sample of the epoch on SSA vector values, and stores them once at the end.
"""

from fastnn.codegen.formulas import Formulas
from fastnn.codegen.spec import REGISTER_PREFETCH_STEPS, STATE_ROWS_USED
from fastnn.kernels.codes import MSE


class RegisterLoop(Formulas):
    """Writes the register-mode loop body."""

    def register_body(self):
        """Emit the loop for a network whose weights (and state) all stay in registers.

        Hidden layers are in rows form (one vector per input row, unrolled); the
        output layer may be a single unit (column form, a dot product). The
        weights are loaded before the loop and stored after it.
        """
        w = self.w
        layers = self.layers
        rows_used = STATE_ROWS_USED[self.kind]
        params = []  # (variable, offset in theta, width)
        for layer in layers:
            if layer.column:
                for start, width in layer.in_chunks:
                    params.append((f"L{layer.index}c{start}", layer.w + start, width))
                params.append((f"L{layer.index}b", layer.b, 1))
                continue
            for i in range(layer.fan_in):
                for start, width in layer.chunks:
                    offset = layer.w + i * layer.fan_out + start
                    params.append((f"L{layer.index}r{i}c{start}", offset, width))
            for start, width in layer.chunks:
                params.append((f"L{layer.index}b{start}", layer.b + start, width))
        for name, offset, width in params:
            w(f"{name} = {self.load('theta', offset, width)}")
            for row in range(rows_used):
                w(f"{name}_s{row} = {self.load(f'S{row}', offset, width)}")
        w("done = n_steps")
        w("for s in range(n_steps):")
        w.indent()
        w("row = np.int64(order[s])")
        # A step takes a few nanoseconds, a shuffled row comes from memory in
        # about a hundred: ask for the rows of a step this far ahead.
        w(f"if s + {REGISTER_PREFETCH_STEPS} < n_steps:")
        w(f"    ahead = np.int64(order[s + {REGISTER_PREFETCH_STEPS}])")
        w("    prefetch_row(X, ahead)")
        w("    prefetch_row(T, ahead)")
        w("xbase = row * n_inputs")
        # Forward: per layer its outputs as vectors (a dict start -> name) or,
        # for a column layer, a scalar name; with the scalars and vectors that
        # feed the next layer.
        scalars = [f"X[row, {i}]" for i in range(layers[0].fan_in)]
        vectors = [
            self.load("XF", f"xbase + {start}", width) for start, width in layers[0].in_chunks
        ]
        inputs = [(scalars, vectors)]
        outputs = []
        for layer in layers:
            scalars, vectors = inputs[-1]
            if layer.column:
                terms = [
                    f"vsum(vmul({vectors[k]}, L{layer.index}c{start}))"
                    for k, (start, _) in enumerate(layer.in_chunks)
                ]
                z = self.fresh("zs")
                w(f"{z} = vget(L{layer.index}b, 0) + " + " + ".join(terms))
                outputs.append(z)
                continue
            result = {}
            for start, width in layer.chunks:
                total = self.fresh("z")
                w(f"{total} = L{layer.index}b{start}")
                for i, value in enumerate(scalars):
                    w(
                        f"{total} = vfma({self.splat(value, width)}, L{layer.index}r{i}c{start}, "
                        f"{total})"
                    )
                if layer.activation is not None:
                    result[start] = self.apply_activation(layer.activation, total, width)
                else:
                    result[start] = total
            outputs.append(result)
            inputs.append(
                (
                    [
                        f"vget({result[start]}, {lane})"
                        for start, width in layer.chunks
                        for lane in range(width)
                    ],
                    [result[start] for start, _ in layer.chunks],
                )
            )
        self._register_loss(layers[-1], outputs[-1])
        self.step_constants()
        delta = self._register_output_delta(layers[-1])
        for layer in reversed(layers):
            index = layer.index
            previous = layers[index - 1] if index > 0 else None
            in_scalars, in_vectors = inputs[index]
            new_delta = None
            if layer.column:
                if previous is not None:
                    new_delta = {}
                    for k, (start, width) in enumerate(previous.chunks):
                        back = f"vmul(L{index}c{start}, {self.splat(delta, width)})"
                        name = self.fresh("dd")
                        lower = self.derivative(previous.activation, in_vectors[k], back, width)
                        w(f"{name} = {lower}")
                        new_delta[start] = name
                for k, (start, width) in enumerate(layer.in_chunks):
                    param = f"L{index}c{start}"
                    gradient = f"vmul({in_vectors[k]}, {self.splat(delta, width)})"
                    w(f"{param} = {self.update(param, gradient, None, width, registers=True)}")
                param = f"L{index}b"
                w(f"{param} = {self.update(param, self.splat(delta, 1), None, 1, registers=True)}")
                delta = new_delta
                continue
            if previous is not None:
                # delta_below[i] = <W[i, :], delta> * f'(a_i), gathered lane by lane.
                new_delta = {}
                i = 0
                for k, (start, width) in enumerate(previous.chunks):
                    raw = self.fresh("raw")
                    w(f"{raw} = {self.splat(self.c(0.0), width)}")
                    for lane in range(width):
                        dot = " + ".join(
                            f"vsum(vmul(L{index}r{i}c{c}, {delta[c]}))" for c, _ in layer.chunks
                        )
                        w(f"{raw} = vset({raw}, {lane}, {dot})")
                        i += 1
                    name = self.fresh("dd")
                    back = self.derivative(previous.activation, in_vectors[k], raw, width)
                    w(f"{name} = {back}")
                    new_delta[start] = name
            for i, value in enumerate(in_scalars):
                for start, width in layer.chunks:
                    param = f"L{index}r{i}c{start}"
                    gradient = f"vmul({self.splat(value, width)}, {delta[start]})"
                    w(f"{param} = {self.update(param, gradient, None, width, registers=True)}")
            for start, width in layer.chunks:
                param = f"L{index}b{start}"
                w(f"{param} = {self.update(param, delta[start], None, width, registers=True)}")
            delta = new_delta
        w.dedent()
        # The weights (and state) go back to memory once, after the loop.
        for name, offset, _ in params:
            self.store("theta", offset, name)
            for row in range(rows_used):
                self.store(f"S{row}", offset, f"{name}_s{row}")
        if self.ftz:
            w("restore_mxcsr(csr)")
        w("return done")

    def _register_loss(self, layer, output):
        w = self.w
        code = self.spec.loss_code
        if layer.column and code == MSE:
            # The course's regression: loss and delta inline, in float64 as the
            # generic loop accumulates them.
            w("target = T[row, 0]")
            w(f"diff = np.float64({output}) - target")
            w("loss = 0.5 * diff * diff")
            w(f"dout = {self.dt}({output} - target)")
        else:
            if layer.column:
                w(f"acts[{layer.unit}] = {output}")
            else:
                for start, _ in layer.chunks:
                    self.store("acts", layer.unit + start, output[start])
            w(f"loss = sample_loss_delta({code}, acts, {layer.unit}, T, row, y_row, deltas)")
            if code != MSE:
                w(f"step_correct[s] = sample_correct({code}, y_row, T, row)")
        w("step_losses[s] = loss")
        w("if not np.isfinite(loss):")
        w("    done = s")
        w("    break")

    def _register_output_delta(self, layer):
        w = self.w
        if layer.column:
            if self.spec.loss_code != MSE:
                w(f"dout = deltas[{layer.unit}]")
            return "dout"
        delta = {}
        for start, width in layer.chunks:
            name = self.fresh("dd")
            w(f"{name} = {self.load('deltas', layer.unit + start, width)}")
            delta[start] = name
        return delta
