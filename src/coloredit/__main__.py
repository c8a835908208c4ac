"""`python -m coloredit` runs the `coloredit` command."""

import sys

from .cli import main

sys.exit(main())
