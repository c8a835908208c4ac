"""`python -m coloredit.cli ...` (and `accelerate launch -m coloredit.cli ...`)."""

import sys

from .main import main

sys.exit(main())
