"""Short SIMD vectors as Numba values, for the kernels generated per network layout.

Numba has no vector type, and LLVM's auto-vectoriser cannot keep a layer's
running sums in registers across a loop that also stores into ``theta``: it
cannot prove that the two arrays do not overlap, so every sum is loaded and
stored again for each input row. These intrinsics give the generated kernels
(:mod:`fastnn.codegen.generator`) LLVM vectors as ordinary SSA values: a vector held in
a local variable lives in a register for as long as the code keeps it, whatever
the arrays around it do.

A vector is ``Vec(dtype, width)``: ``width`` lanes of float32 or float64, any
power of two (1 to 64). Loads and stores take a flat array and an element
offset. The generator cuts a row into vectors of exact widths (a 40-wide row is
16 + 16 + 8 lanes) rather than masking the last one: on AMD Zen a masked store
stalls the next row's loads (measured: 7.7 ns per 40-wide row masked, 1.5 ns
unmasked).

Arithmetic follows the kernels' fastmath flags (:mod:`fastnn.kernels._jit`): products
and sums may be fused into FMAs and reductions reassociated, but NaN and inf
still propagate. ``relu`` keeps NaN (``v < 0 ? 0 : v``), as ``np.maximum(0, v)``
does.

Everything here is an ``@intrinsic``: it is inlined into the generated kernel
and emits a handful of LLVM instructions, with no call overhead.
"""

import numba
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.core.datamodel import models
from numba.extending import intrinsic, register_model


class Vec(types.Type):
    """A vector of ``width`` lanes of the float type ``dtype``."""

    def __init__(self, dtype, width):
        self.dtype = dtype
        self.width = width
        super().__init__(name=f"Vec({dtype}, {width})")


@register_model(Vec)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = ir.FloatType() if fe_type.dtype == types.float32 else ir.DoubleType()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.width))


def register_bits():
    """Return the widest vector register of this CPU in bits (512, 256 or 128)."""
    features = binding.get_host_cpu_features()
    cpu_name = numba.config.CPU_NAME
    if cpu_name not in (None, "host"):
        return 128  # a portable build (NUMBA_CPU_NAME=generic): assume only SSE
    if features.get("avx512f", False):
        return 512
    if features.get("avx2", False) or features.get("avx", False):
        return 256
    return 128


# ---------------------------------------------------------------- helpers


def _literal(value):
    if isinstance(value, types.IntegerLiteral):
        return value.literal_value
    return None


def _float_array(array):
    return (
        isinstance(array, types.Array)
        and array.dtype in (types.float32, types.float64)
        and array.layout == "C"
    )


def _element_pointer(context, builder, array_type, array_value, offset_type, offset_value):
    array = context.make_array(array_type)(context, builder, array_value)
    index = context.cast(builder, offset_value, offset_type, types.intp)
    element = context.get_data_type(array_type.dtype)
    base = builder.bitcast(array.data, element.as_pointer())
    return builder.gep(base, [index])


def _vector_intrinsic(builder, name, vector_type, arguments):
    element = vector_type.element
    suffix = f"v{vector_type.count}f{32 if isinstance(element, ir.FloatType) else 64}"
    function_type = ir.FunctionType(vector_type, [vector_type] * len(arguments))
    function = cgutils.get_or_insert_function(
        builder.module, function_type, f"llvm.{name}.{suffix}"
    )
    return builder.call(function, arguments)


def _splat(builder, vector_type, scalar):
    undef = ir.Constant(vector_type, ir.Undefined)
    first = builder.insert_element(undef, scalar, ir.IntType(32)(0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), vector_type.count), [0] * vector_type.count)
    return builder.shuffle_vector(first, undef, zeros)


# ---------------------------------------------------------------- memory


@intrinsic
def vload(typingctx, array, offset, width):
    """Load ``array[offset : offset + width]`` as a vector (``width`` a constant)."""
    width_value = _literal(width)
    if not _float_array(array) or not isinstance(offset, types.Integer) or not width_value:
        return None
    vector = Vec(array.dtype, width_value)

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(
            context, builder, signature.args[0], args[0], signature.args[1], args[1]
        )
        vector_type = context.get_value_type(vector)
        load = builder.load(builder.bitcast(pointer, vector_type.as_pointer()))
        load.align = context.get_abi_alignment(vector_type.element)
        return load

    return vector(array, offset, width), codegen


@intrinsic
def vstore(typingctx, array, offset, vector):
    """Store ``vector`` into ``array[offset : offset + width]``."""
    if (
        not _float_array(array)
        or not isinstance(offset, types.Integer)
        or not isinstance(vector, Vec)
        or vector.dtype != array.dtype
    ):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(
            context, builder, signature.args[0], args[0], signature.args[1], args[1]
        )
        vector_type = context.get_value_type(vector)
        store = builder.store(args[2], builder.bitcast(pointer, vector_type.as_pointer()))
        store.align = context.get_abi_alignment(vector_type.element)
        return context.get_dummy_value()

    return types.void(array, offset, vector), codegen


# ---------------------------------------------------------------- construction


@intrinsic
def vsplat(typingctx, value, width):
    """A ``width``-lane vector with every lane ``value`` (float32 or float64)."""
    width_value = _literal(width)
    if value not in (types.float32, types.float64) or width_value is None:
        return None
    vector = Vec(value, width_value)

    def codegen(context, builder, signature, args):
        return _splat(builder, context.get_value_type(vector), args[0])

    return vector(value, width), codegen


@intrinsic
def vzero(typingctx, like):
    """A vector of zeros shaped like ``like``."""
    if not isinstance(like, Vec):
        return None

    def codegen(context, builder, signature, args):
        return ir.Constant(context.get_value_type(like), None)

    return like(like), codegen


@intrinsic
def vget(typingctx, vector, lane):
    """Lane ``lane`` of ``vector`` as a scalar."""
    if not isinstance(vector, Vec) or not isinstance(lane, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        index = context.cast(builder, args[1], signature.args[1], types.int32)
        return builder.extract_element(args[0], index)

    return vector.dtype(vector, lane), codegen


@intrinsic
def vset(typingctx, vector, lane, value):
    """``vector`` with lane ``lane`` replaced by ``value``."""
    if not isinstance(vector, Vec) or not isinstance(lane, types.Integer):
        return None
    if not isinstance(value, types.Float):
        return None

    def codegen(context, builder, signature, args):
        index = context.cast(builder, args[1], signature.args[1], types.int32)
        scalar = context.cast(builder, args[2], signature.args[2], vector.dtype)
        return builder.insert_element(args[0], scalar, index)

    return vector(vector, lane, value), codegen


# ---------------------------------------------------------------- arithmetic


def _binary(opname):
    @intrinsic
    def operation(typingctx, left, right):
        if not isinstance(left, Vec) or left != right:
            return None

        def codegen(context, builder, signature, args):
            return getattr(builder, opname)(args[0], args[1])

        return left(left, right), codegen

    return operation


vadd = _binary("fadd")
vsub = _binary("fsub")
vmul = _binary("fmul")
vdiv = _binary("fdiv")


@intrinsic
def vfma(typingctx, a, b, c):
    """``a * b + c`` per lane (one FMA where the CPU has it)."""
    if not isinstance(a, Vec) or not a == b == c:
        return None

    def codegen(context, builder, signature, args):
        return builder.fadd(builder.fmul(args[0], args[1]), args[2])

    return a(a, b, c), codegen


@intrinsic
def vsqrt(typingctx, vector):
    """Square root per lane (exact, IEEE)."""
    if not isinstance(vector, Vec):
        return None

    def codegen(context, builder, signature, args):
        return _vector_intrinsic(builder, "sqrt", context.get_value_type(vector), [args[0]])

    return vector(vector), codegen


@intrinsic
def vmax(typingctx, a, b):
    """Lane-wise maximum, ``a > b ? a : b``."""
    if not isinstance(a, Vec) or a != b:
        return None

    def codegen(context, builder, signature, args):
        greater = builder.fcmp_ordered(">", args[0], args[1])
        return builder.select(greater, args[0], args[1])

    return a(a, b), codegen


@intrinsic
def vrelu(typingctx, vector):
    """``v < 0 ? 0 : v`` per lane: ReLU that keeps NaN (as ``np.maximum(0, v)``)."""
    if not isinstance(vector, Vec):
        return None

    def codegen(context, builder, signature, args):
        zero = ir.Constant(args[0].type, None)
        negative = builder.fcmp_ordered("<", args[0], zero)
        return builder.select(negative, zero, args[0])

    return vector(vector), codegen


@intrinsic
def vwhere_positive(typingctx, test, value):
    """``test > 0 ? value : 0`` per lane (ReLU's derivative applied to ``value``)."""
    if not isinstance(test, Vec) or test != value:
        return None

    def codegen(context, builder, signature, args):
        zero = ir.Constant(args[0].type, None)
        positive = builder.fcmp_ordered(">", args[0], zero)
        return builder.select(positive, args[1], zero)

    return value(test, value), codegen


@intrinsic
def vflush(typingctx, vector, tiny):
    """``|v| >= tiny ? v : 0`` per lane: subnormals (and only they) become 0."""
    if not isinstance(vector, Vec) or tiny != vector:
        return None

    def codegen(context, builder, signature, args):
        magnitude = _vector_intrinsic(builder, "fabs", args[0].type, [args[0]])
        small = builder.fcmp_ordered("<", magnitude, args[1])
        return builder.select(small, ir.Constant(args[0].type, None), args[0])

    return vector(vector, tiny), codegen


@intrinsic
def vsum(typingctx, vector):
    """The sum of the lanes (a reassociated tree of adds)."""
    if not isinstance(vector, Vec):
        return None

    def codegen(context, builder, signature, args):
        vector_type = args[0].type
        element = vector_type.element
        suffix = f"v{vector_type.count}f{32 if isinstance(element, ir.FloatType) else 64}"
        function_type = ir.FunctionType(element, [element, vector_type])
        function = cgutils.get_or_insert_function(
            builder.module, function_type, f"llvm.vector.reduce.fadd.{suffix}"
        )
        call = builder.call(function, [ir.Constant(element, -0.0), args[0]])
        call.fastmath.add("reassoc")
        return call

    return vector.dtype(vector), codegen


@intrinsic
def vnonzero_bits(typingctx, vector):
    """A uint64 whose bit ``k`` is set when lane ``k`` is not zero (NaN counts as set)."""
    if not isinstance(vector, Vec) or vector.width > 64:
        return None

    def codegen(context, builder, signature, args):
        zero = ir.Constant(args[0].type, None)
        nonzero = builder.fcmp_unordered("!=", args[0], zero)
        bits = builder.bitcast(nonzero, ir.IntType(vector.width))
        return builder.zext(bits, ir.IntType(64))

    return types.uint64(vector), codegen


@intrinsic
def vnonzero_mask(typingctx, array, offset, count, lanes):
    """A uint64 whose bit ``k`` is set when ``array[offset + k]`` is not zero (NaN too).

    ``count`` (at most 64) and ``lanes`` are constants: the values are loaded and
    compared ``lanes`` at a time (a register's width), each compare's bits shifted
    into place. One call in the generated source, however many registers it
    takes: Numba's compile time grows with the calls in a function, LLVM's much
    less with the instructions one call emits.
    """
    count_value, lanes_value = _literal(count), _literal(lanes)
    if (
        not _float_array(array)
        or not isinstance(offset, types.Integer)
        or not count_value
        or not lanes_value
        or count_value > 64
        or count_value % lanes_value
    ):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(
            context, builder, signature.args[0], args[0], signature.args[1], args[1]
        )
        element = context.get_value_type(array.dtype)
        vector_type = ir.VectorType(element, lanes_value)
        alignment = context.get_abi_alignment(element)
        zero = ir.Constant(vector_type, None)
        bits = ir.Constant(ir.IntType(64), 0)
        for start in range(0, count_value, lanes_value):
            address = builder.gep(pointer, [ir.Constant(ir.IntType(64), start)])
            load = builder.load(builder.bitcast(address, vector_type.as_pointer()))
            load.align = alignment
            nonzero = builder.fcmp_unordered("!=", load, zero)
            piece = builder.zext(builder.bitcast(nonzero, ir.IntType(lanes_value)), ir.IntType(64))
            if start:
                piece = builder.shl(piece, ir.Constant(ir.IntType(64), start))
            bits = builder.or_(bits, piece)
        return bits

    return types.uint64(array, offset, count, lanes), codegen


@intrinsic
def trailing_zeros(typingctx, value):
    """The index of the lowest set bit of a uint64 (64 if none)."""
    if value != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        function_type = ir.FunctionType(ir.IntType(64), [ir.IntType(64), ir.IntType(1)])
        function = cgutils.get_or_insert_function(builder.module, function_type, "llvm.cttz.i64")
        return builder.call(function, [args[0], ir.IntType(1)(0)])

    return types.uint64(value), codegen
