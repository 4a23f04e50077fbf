"""``python -m tap_invoicing.sandbox`` runs the CLI."""

import sys

from tap_invoicing.sandbox.cli import main

sys.exit(main())
