import sys

from cafe_cli.main import main

sys.exit(main())
