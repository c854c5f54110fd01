"""Low-level helpers the kernels need and Numba does not expose."""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _emit_prefetch(builder, pointer):
    """Emit ``llvm.prefetch`` of the cache line at ``pointer``: a read (0), high
    temporal locality (3), into the data cache (1)."""
    byte_pointer = builder.bitcast(pointer, ir.IntType(8).as_pointer())
    function_type = ir.FunctionType(
        ir.VoidType(),
        [ir.IntType(8).as_pointer(), ir.IntType(32), ir.IntType(32), ir.IntType(32)],
    )
    function = cgutils.get_or_insert_function(builder.module, function_type, "llvm.prefetch.p0")
    constants = [ir.Constant(ir.IntType(32), value) for value in (0, 3, 1)]
    builder.call(function, [byte_pointer, *constants])


@intrinsic
def prefetch_row(typingctx, matrix, row):
    """Ask the CPU to start loading row ``row`` of a C-contiguous 2-D array.

    Per-sample SGD visits rows in a shuffled order, so each step would begin
    with a cache miss; prefetching the next step's rows overlaps that wait with
    the current step's arithmetic. A hint only: it never faults or changes data.
    """
    if not (
        isinstance(matrix, types.Array) and matrix.ndim == 2 and isinstance(row, types.Integer)
    ):
        return None

    def codegen(context, builder, signature, args):
        array_type, _ = signature.args
        array = context.make_array(array_type)(context, builder, args[0])
        index = context.cast(builder, args[1], signature.args[1], types.intp)
        zero = ir.Constant(ir.IntType(64), 0)
        pointer = cgutils.get_item_pointer2(
            context,
            builder,
            data=array.data,
            shape=cgutils.unpack_tuple(builder, array.shape),
            strides=cgutils.unpack_tuple(builder, array.strides),
            layout=array_type.layout,
            inds=[index, zero],
            wraparound=False,
        )
        _emit_prefetch(builder, pointer)
        return context.get_dummy_value()

    return types.void(matrix, row), codegen


@intrinsic
def prefetch_element(typingctx, array, index):
    """Ask the CPU to start loading the cache line that holds ``array[index]`` (1-D, C).

    A hint only: it never faults, even past the end of the array.
    """
    if not (
        isinstance(array, types.Array) and array.ndim == 1 and isinstance(index, types.Integer)
    ):
        return None

    def codegen(context, builder, signature, args):
        array_type, index_type = signature.args
        data = context.make_array(array_type)(context, builder, args[0]).data
        offset = context.cast(builder, args[1], index_type, types.intp)
        pointer = builder.gep(data, [offset])
        _emit_prefetch(builder, pointer)
        return context.get_dummy_value()

    return types.void(array, index), codegen


def _mxcsr_call(builder, name, pointer):
    function_type = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()])
    function = cgutils.get_or_insert_function(builder.module, function_type, f"llvm.x86.sse.{name}")
    builder.call(function, [builder.bitcast(pointer, ir.IntType(8).as_pointer())])


@intrinsic
def flush_denormals(typingctx):
    """Turn on the x86 flush-to-zero and denormals-are-zero modes; return the old MXCSR.

    Subnormal numbers (below 1.2e-38 in float32) cost microcode assists on x86,
    10-100x a normal operation. Pass the returned value to :func:`restore_mxcsr`
    before returning.
    """

    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr_call(builder, "stmxcsr", slot)
        old = builder.load(slot)
        builder.store(builder.or_(old, ir.Constant(ir.IntType(32), 0x8040)), slot)
        _mxcsr_call(builder, "ldmxcsr", slot)
        return old

    return types.uint32(), codegen


@intrinsic
def restore_mxcsr(typingctx, value):
    """Set MXCSR back to ``value`` (from :func:`flush_denormals`)."""
    if value != types.uint32:
        return None

    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        builder.store(args[0], slot)
        _mxcsr_call(builder, "ldmxcsr", slot)
        return context.get_dummy_value()

    return types.void(value), codegen
