"""``python -m fastnn.cli`` runs the command line, as ``python -m fastnn`` does."""

import sys

from fastnn.cli import main

sys.exit(main())
