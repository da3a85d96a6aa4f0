"""`python3 -m synthforge_trainer [train]`: the container entry point.

SageMaker starts a bring-your-own training image as `docker run <image> train`; with this module as
the ENTRYPOINT the word `train` arrives as an argument and is accepted. Signal handlers go in before
torch is imported, so a stop request during the seconds of start-up is not lost.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

from .stop import StopRequest, exit_with_parent, install_stop_handlers

USAGE = "usage: python3 -m synthforge_trainer [train]   (paths under $SYNTHFORGE_ML_ROOT, default /opt/ml)"


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["train"]):
        print(USAGE, file=sys.stderr)
        return 2
    stop = StopRequest()
    restore_handlers = install_stop_handlers(stop)
    # Locally, the end of stdin means the platform that started this run is gone: stop as on SIGTERM.
    exit_with_parent(stop, os.environ)
    try:
        from .paths import MLPaths
        from .train import run

        return run(MLPaths.from_env(), stop).exit_code
    finally:
        restore_handlers()


if __name__ == "__main__":
    sys.exit(main())
