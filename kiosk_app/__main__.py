"""``python -m kiosk_app``."""

import sys

from kiosk_app.cli import main

sys.exit(main())
