#!/usr/bin/env python3
"""SageMaker script mode's entry point (`sagemaker_program`) for AWS's PyTorch training container.

The container's sagemaker-training toolkit unpacks the trainer's source into /opt/ml/code and runs
`python sagemaker_entry.py --<hyperparameter> <value> ...`. The trainer reads the same values from
/opt/ml/input/config/hyperparameters.json itself, with its own types and checks, so the command-line
copies are ignored here; everything else (paths, exit codes, the failure file, progress) is the
contract of README.md, unchanged. The toolkit writes its own failure file only when the trainer has
not written one, so the trainer's reason reaches FailureReason.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from synthforge_trainer.__main__ import main  # noqa: E402 - the path has to be set first

if __name__ == "__main__":
    sys.exit(main([]))
