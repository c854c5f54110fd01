"""Per-sample epoch loops generated for one network layout, compiled once and cached.

:mod:`fastnn.codegen.generator` writes the loop of one layout as Python source;
:mod:`fastnn.codegen.cache` writes that source to the kernel cache, imports it and
keeps the compiled kernel for the life of the process.
"""
