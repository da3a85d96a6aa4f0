"""A SynthForge batch as the training channel: its jobs' result archives, unpacked into identities."""

import zipfile

from support import FAST_HYPERPARAMETERS, quiet_log, read_progress, write_hyperparameters
from synthforge_trainer.data import discover_identities, unpack_archives
from synthforge_trainer.paths import MLPaths
from synthforge_trainer.synthetic import write_synthetic_identities
from synthforge_trainer.train import run


def write_job_archive(path, identities, crops, seed, folder=""):
    """A shapes identity-crops result: identities/<id>/<crop>.png plus files that are not crops,
    under `folder/` when given (the platform puts every result under its job id)."""
    source = path.parent / f"source-{seed}"
    folders = write_synthetic_identities(source, identities, crops, image_size=32, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = f"{folder}/" if folder else ""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{root}identities.json", "{}")
        archive.writestr(f"{root}params.json", "{}")
        for index, folder_path in enumerate(folders):
            for crop in sorted(folder_path.iterdir()):
                archive.write(crop, f"{root}identities/id_{index:04d}/{crop.name}")


def test_each_archive_becomes_identities_named_after_its_job(tmp_path):
    # Prepare: two jobs of one batch, as a manifest channel lays them out (their S3 keys).
    channel = tmp_path / "train"
    write_job_archive(channel / "tenant-a" / "jobs" / "JOB1" / "result.zip", identities=2, crops=3, seed=1)
    write_job_archive(channel / "tenant-a" / "jobs" / "JOB2" / "result.zip", identities=3, crops=2, seed=2)

    # Act
    identities = discover_identities(unpack_archives(channel, tmp_path / "unpacked"))

    # Assess: both jobs' id_0000 stay apart; metadata files are not identities.
    assert [(identity.name, len(identity.image_paths)) for identity in identities] == [
        ("JOB1-id_0000", 3),
        ("JOB1-id_0001", 3),
        ("JOB2-id_0000", 2),
        ("JOB2-id_0001", 2),
        ("JOB2-id_0002", 2),
    ]


def test_archives_with_their_job_folder_unpack_like_those_without(tmp_path):
    # Prepare: the layout the platform writes, every entry under the job's id.
    channel = tmp_path / "train"
    write_job_archive(channel / "t" / "jobs" / "JOB1" / "result.zip", identities=2, crops=3, seed=1, folder="JOB1")

    # Act
    identities = discover_identities(unpack_archives(channel, tmp_path / "unpacked"))

    # Assess
    assert [(identity.name, len(identity.image_paths)) for identity in identities] == [
        ("JOB1-id_0000", 3),
        ("JOB1-id_0001", 3),
    ]


def test_a_channel_of_identity_folders_is_used_as_it_is(tmp_path):
    channel = tmp_path / "train"
    write_synthetic_identities(channel, 2, 2, image_size=32)
    assert unpack_archives(channel, tmp_path / "unpacked") == channel
    assert not (tmp_path / "unpacked").exists()


def test_frames_caps_the_crops_per_identity_and_save_intermediate_keeps_each_epoch(tmp_path):
    # Prepare: 5 identities of 6 crops in archives; at most 4 crops each may be used.
    paths = MLPaths(tmp_path / "ml")
    write_job_archive(paths.train_data / "JOB" / "result.zip", identities=5, crops=6, seed=4)
    write_hyperparameters(
        paths, {**FAST_HYPERPARAMETERS, "max_images_per_identity": "4", "save_intermediate": "true"}
    )

    # Act
    outcome = run(paths, log=quiet_log())

    # Assess
    assert outcome.status == "completed"
    assert read_progress(paths)["datasets_processed"] == 5
    # Each epoch's weights are kept with the checkpoints (tests/test_model_artefact.py: not in the model).
    assert sorted(path.name for path in (paths.checkpoints_dir / "epochs").iterdir()) == [
        "epoch_001.pt",
        "epoch_002.pt",
    ]
