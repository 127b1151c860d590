"""`python -m hub` is the `cityhub` command."""

import sys

from hub.cli import main

sys.exit(main())
