"""The whole benchmark suite (fastnn.benchmark), with the thread count fixed before NumPy loads.

``fastnn bench`` and ``python -m fastnn.benchmark`` limit threads at run time
(threadpoolctl, ``torch.set_num_threads``) because NumPy is already loaded when
they start; this wrapper also sets the BLAS/OpenMP environment variables first,
so every library starts with that many threads.

Usage::

    python bench/bench_suite.py                # writes bench/results/suite/
    python bench/bench_suite.py --quick --out /tmp/bench
"""

import os
import sys
from pathlib import Path


def _threads(argv):
    """The value of ``--threads`` in ``argv`` (default "1"), read before argparse runs."""
    for position, argument in enumerate(argv):
        if argument == "--threads" and position + 1 < len(argv):
            return argv[position + 1]
        if argument.startswith("--threads="):
            return argument.split("=", 1)[1]
    return "1"


if __name__ == "__main__":
    argv = sys.argv[1:]
    for variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[variable] = _threads(argv)
    if not any(a == "--out" or a.startswith("--out=") for a in argv):
        argv += ["--out", str(Path(__file__).parent / "results" / "suite")]

    from fastnn.benchmark import main  # after the environment: this loads NumPy

    sys.exit(main(argv, prog="python bench/bench_suite.py"))
