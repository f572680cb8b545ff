"""``python -m ccdstudio`` is the ``ccdstudio`` command."""

import sys

from ccdstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
