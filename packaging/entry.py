"""Entry point of the frozen app: the ``ccdstudio`` command, as ``ccdstudio.cli.main``.

``freeze_support`` runs first: a multiprocessing or DataLoader worker started by the "spawn" or
"forkserver" method re-runs this executable, and it turns that run into the worker instead of a second app.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()

    from ccdstudio.cli import main

    sys.exit(main())
