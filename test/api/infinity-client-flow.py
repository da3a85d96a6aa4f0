"""Infinity's real client (`infinity_core`, seed 000), unmodified, through its whole flow against a
SynthForge server: what an Infinity user's script does, pointed at SynthForge.

Run by test/api/infinity-client.test.ts as
    PYTHONPATH=<client> python3 infinity-client-flow.py <server> <api key> <empty folder>
Every check is an assert naming what went wrong; the last line printed is `REPORT <json>`.
"""

import contextlib
import datetime
import io
import json
import random
import sys
from pathlib import Path

import infinity_core.api as api
from infinity_core.data_structures import JobType
from infinity_core.session import (
    ParameterValidationError,
    Session,
    SessionInitializationError,
    get_available_generators,
)

server, token, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
report = {}
SMALL = {"image_width": 64, "image_height": 64, "frames": 2}


def quietly(call, *args, **kwargs):
    """Runs a client call that prints progress, returning its result and what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = call(*args, **kwargs)
    return result, printed.getvalue()


# Initialise: the generators, a session, the parameter info.
generators = get_available_generators(token=token, server=server)
assert "shapes" in generators, f"shapes is not among the generators: {generators}"
sesh = Session(token=token, generator="shapes", server=server)
info = sesh.parameter_info
assert info["frames"]["type"] == "int" and info["frames"]["options"]["min"] == 1, info["frames"]
report["generators"] = generators
report["parameters"] = sorted(info)

for bad, expected in [({"token": "sf_not_a_key", "generator": "shapes"}, "Invalid token"),
                      ({"token": token, "generator": "no-such-generator"}, "Invalid generator name")]:
    try:
        Session(server=server, **bad)
        raise AssertionError(f"Session({bad}) was accepted")
    except SessionInitializationError as error:
        assert expected in str(error), str(error)

# Random and default jobs: the client draws each parameter on its own within its published options;
# the server must accept every draw its own validation passes (the estimate validates each job).
random.seed(20240607)
draws = [sesh.random_job() for _ in range(50)]
assert sesh.validate_job_params(draws) == [None] * 50, "the client refused its own random draws"
frames_of_draws = sesh.estimate_samples(draws)
assert frames_of_draws == [draw["frames"] for draw in draws], frames_of_draws
report["random_draws_accepted"] = len(frames_of_draws)
default = sesh.default_job
assert sesh.validate_job_params([default]) == [None], "the default job is invalid"
assert sesh.estimate_samples([default]) == [default["frames"]]

# Validation: the published options are the rules, so the client refuses what the server refuses.
errors = sesh.validate_job_params([{"frames": 65}, {"colour": "red"}, {"palette": "neon"}])
assert all(error is not None for error in errors), errors
assert "frames" in errors[0] and "colour" in errors[1] and "palette" in errors[2], errors
try:
    sesh.submit([{"frames": 0}])
    raise AssertionError("an invalid job was submitted")
except ParameterValidationError:
    pass

# Submit: three small random jobs with a name, one job without a name, one preview.
jobs = [sesh.randomize_unspecified_params({**SMALL, "seed": seed}) for seed in (1, 2, 3)]
named, _ = quietly(sesh.submit, jobs, batch_name="infinity flow")
unnamed, _ = quietly(sesh.submit, [{**SMALL, "frames": 1, "seed": 4}])
preview, _ = quietly(sesh.submit, [{**SMALL, "seed": 5}], is_preview=True)
assert named.num_jobs == 3 and unnamed.num_jobs == 1 and preview.job_type == JobType.PREVIEW
assert [named.jobs[job_id]["seed"] for job_id in named.job_ids] == [1, 2, 3], named.jobs

# Await completion; every job is a valid completed job (a result link).
for batch in (named, unnamed, preview):
    valid, _ = quietly(batch.await_completion, polling_interval=1, timeout=120)
    assert sorted(job.job_id for job in valid) == sorted(batch.job_ids), (batch.batch_id, valid)
    assert all(job.result_url.startswith("http") and job.generator == "shapes" for job in valid)
    assert batch.get_num_jobs_remaining() == 0

# Download a batch into one folder: one folder per job, each whole, nothing else but batch_id.txt.
target = out / "named"
_, printed = quietly(named.download, str(target))
assert sorted(entry.name for entry in target.iterdir()) == sorted([*named.job_ids, "batch_id.txt"]), sorted(
    entry.name for entry in target.iterdir()
)
for job_id in named.job_ids:
    folder = target / job_id
    names = sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
    assert names == ["annotations.json", "frames/frame_0000.png", "frames/frame_0001.png", "params.json"], names
    assert json.loads((folder / "params.json").read_text())["seed"] == named.jobs[job_id]["seed"]
    coco = json.loads((folder / "annotations.json").read_text())
    assert [image["file_name"] for image in coco["images"]] == ["frames/frame_0000.png", "frames/frame_0001.png"]
# Downloading again resumes: every job is recognised as downloaded, nothing is fetched again.
_, printed = quietly(named.download, str(target))
assert "Found 3 jobs already downloaded" in printed, printed
assert "Completed downloads" not in printed, printed
_, _ = quietly(preview.download, str(out / "preview"))
assert (out / "preview" / preview.job_ids[0] / "frames" / "frame_0000.png").is_file()
report["downloaded"] = sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file())

# A batch rebuilt from the API has the same jobs and parameters.
again = sesh.batch_from_api(named.batch_id)
assert again.jobs == named.jobs and again.name == "infinity flow" and again.job_type == JobType.STANDARD

# Batches of the last days: ours, with `created` a timezone-aware datetime; the unnamed one named.
batches = sesh.get_batches_last_n_days(1)
by_id = {batch["batch_id"]: batch for batch in batches}
for batch in (named, unnamed, preview):
    assert batch.batch_id in by_id, (batch.batch_id, list(by_id))
    assert isinstance(by_id[batch.batch_id]["created"], datetime.datetime)
    assert by_id[batch.batch_id]["created"].tzinfo is not None
assert by_id[named.batch_id]["name"] == "infinity flow"
assert by_id[unnamed.batch_id]["name"], "a batch submitted without a name has none"
report["unnamed_batch_name"] = by_id[unnamed.batch_id]["name"]

# Usage per generator over the last day: 3 + 1 standard jobs and 1 preview, their frames.
usage = sesh.get_usage_stats_last_n_days(1)
shapes_usage = usage["shapes"]
assert shapes_usage["standard"] >= 4 and shapes_usage["preview"] >= 1, usage
assert shapes_usage["samples"] >= 3 * 2 + 1 + 1, usage
report["usage"] = usage

# Estimates: frames per job; a preview is one frame.
assert sesh.estimate_samples([{**SMALL, "frames": 3}, {"frames": 7}]) == [3, 7]
assert sesh.estimate_samples([{**SMALL, "frames": 3}], is_preview=True) == [1]

# The api module's job routes: standard jobs and previews, each on its own path.
standard = api.unwrap_json_payload(api.get_all_standard_job_data(token=token, server=server))
assert set(named.job_ids) <= {job["id"] for job in standard} and not any(job["is_preview"] for job in standard)
one = api.unwrap_json_payload(
    api.get_single_standard_job_data(token=token, standard_job_id=named.job_ids[0], server=server)
)
assert one["id"] == named.job_ids[0] and one["batch_id"] == named.batch_id and one["result_url"], one
previews = api.unwrap_json_payload(api.get_all_preview_job_data(token=token, server=server))
assert [job["id"] for job in previews if job["batch_id"] == preview.batch_id] == preview.job_ids, previews
single = api.get_single_preview_job_data(token=token, preview_id=preview.job_ids[0], server=server)
assert single.status_code == 200 and single.json()["is_preview"] is True, single.text
wrong_kind = api.get_single_standard_job_data(token=token, standard_job_id=preview.job_ids[0], server=server)
assert wrong_kind.status_code == 404, wrong_kind.text

print("REPORT " + json.dumps(report))
