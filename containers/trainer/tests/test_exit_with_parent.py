"""The trainer ends with the local platform that started it: SYNTHFORGE_EXIT_WITH_PARENT=stdin.

The platform holds the trainer's stdin open and never writes to it; when the platform dies, however
it dies, the pipe ends. These tests end the pipe by closing the parent's end, as the kernel does.
"""

import os
import signal
import subprocess
import sys
import time

from support import make_job, read_progress
from synthforge_trainer.stop import EXIT_WITH_PARENT_VARIABLE, StopRequest, exit_with_parent

TRAINER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Generous bounds for a loaded 2-core machine; every wait below ends as soon as its event happens.
WAIT_SECONDS = 60

# A stand-in for the training loop: it polls the stop flag as the trainer does between batches.
POLLING_LOOP = """
import os, sys, time
from synthforge_trainer.stop import StopRequest, exit_with_parent, install_stop_handlers
stop = StopRequest()
install_stop_handlers(stop)
exit_with_parent(stop, os.environ, grace_seconds=float(sys.argv[1]))
print("ready", flush=True)
while not stop.requested or sys.argv[2] == "never-stops":
    time.sleep(0.01)
sys.exit(stop.exit_code)
"""


def start(env_value, grace_seconds=30.0, loop="stops"):
    env = {key: value for key, value in os.environ.items() if key != EXIT_WITH_PARENT_VARIABLE}
    if env_value is not None:
        env[EXIT_WITH_PARENT_VARIABLE] = env_value
    process = subprocess.Popen(
        [sys.executable, "-c", POLLING_LOOP, str(grace_seconds), loop],
        cwd=TRAINER_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    return process


def test_without_the_variable_nothing_watches_stdin():
    # Prepare
    read_end, write_end = os.pipe()
    try:
        # Act
        environments = ({}, {EXIT_WITH_PARENT_VARIABLE: "tty"})
        watchers = [exit_with_parent(StopRequest(), env, stdin_fd=read_end) for env in environments]

        # Assess
        assert watchers == [None, None]
    finally:
        os.close(read_end)
        os.close(write_end)


def test_the_end_of_stdin_stops_the_run_as_sigterm_does_and_only_with_the_variable():
    # Prepare
    watching = start("stdin")
    unwatched = start(None)

    # Act: the parent's end of both pipes closes, as when the parent dies.
    watching.stdin.close()
    unwatched.stdin.close()
    watching_status = watching.wait(timeout=WAIT_SECONDS)

    # Assess: the watching one stopped as on SIGTERM; the other one saw the same EOF and still runs.
    assert watching_status == 128 + signal.SIGTERM
    assert unwatched.poll() is None
    unwatched.send_signal(signal.SIGTERM)
    assert unwatched.wait(timeout=WAIT_SECONDS) == 128 + signal.SIGTERM


def test_a_run_that_does_not_stop_within_the_grace_is_ended():
    # Prepare: a loop that never looks at the stop flag.
    process = start("stdin", grace_seconds=0.2, loop="never-stops")

    # Act
    process.stdin.close()

    # Assess
    assert process.wait(timeout=WAIT_SECONDS) == 128 + signal.SIGTERM


def test_a_training_run_whose_platform_is_gone_suspends_with_a_checkpoint(tmp_path):
    # Prepare: a job far longer than the test waits, started as the local platform starts it.
    paths = make_job(tmp_path, {"num_epochs": "50"})
    process = subprocess.Popen(
        [sys.executable, "-m", "synthforge_trainer", "train"],
        cwd=TRAINER_DIR,
        env={**os.environ, "SYNTHFORGE_ML_ROOT": str(tmp_path), EXIT_WITH_PARENT_VARIABLE: "stdin"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        if paths.progress.exists() and read_progress(paths)["current_epoch"] >= 1:
            break
        time.sleep(0.1)

    # Act: communicate closes the parent's end of stdin first, as the platform's death does.
    output, _ = process.communicate(timeout=WAIT_SECONDS)

    # Assess
    assert process.returncode == 128 + signal.SIGTERM, output
    progress = read_progress(paths)
    assert progress["status"] == "suspended", progress
    assert paths.checkpoint.exists() and not paths.model_weights.exists()
