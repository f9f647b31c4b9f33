"""`python -m liveops_rules.cli`: the `liveops-rules` command."""

import sys

from liveops_rules.cli import main

sys.exit(main())
