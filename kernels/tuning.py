"""Tuning constants shared by the generic loops and the generated ones: one home each.

They choose between two ways of computing the same thing (the results agree to float
rounding either way); the values were measured on x86-64 with AVX2 and AVX-512.
"""

# Skipping a zero input (a blank pixel, an inactive ReLU) saves a row of work but costs
# a branch that mispredicts often; it pays only for rows at least this wide.
SKIP_ZEROS_MIN_WIDTH = 16

# Inputs this wide (images) have long runs of zeros in the same places, so skipping
# them pays even when the layer's rows are narrow.
WIDE_INPUT = 64
