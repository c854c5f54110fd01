"""Helpers shared by the examples: small sizes for the tests, and where charts go."""

import os

#: Set FASTNN_EXAMPLE_SMALL=1 to run every example on a fraction of its data (tests).
SMALL = os.environ.get("FASTNN_EXAMPLE_SMALL", "") not in ("", "0")


def size(full, small):
    """``full`` normally, ``small`` when FASTNN_EXAMPLE_SMALL is set."""
    return small if SMALL else full
