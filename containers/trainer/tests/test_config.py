"""Hyperparameters arrive as SageMaker writes them (all strings) or as native JSON values."""

import pytest

from synthforge_trainer.config import InvalidHyperparametersError, TrainerConfig, parse_hyperparameters


def test_sagemaker_all_strings_form_is_parsed_into_typed_values():
    # Prepare: every value a JSON string, as SageMaker's CreateTrainingJob passes them.
    raw = {
        "num_epochs": "10",
        "batch_size": "32",
        "learning_rate": "0.0005",
        "early_stopping_patience": "4",
        "min_images_per_player": "3",
        "margin": "0.3",
        "weight_decay": "1e-5",
        "margin_decay_rate": "0.95",
        "margin_change_threshold": "0.02",
        "lr_scheduler_patience": "2",
        "lr_scheduler_factor": "0.1",
        "lr_scheduler_min_lr": "1e-8",
        "num_workers": "2",
        "prefetch_factor": "4",
        "force_pretraining": "false",
        "embedding_dim": "128",
        "dropout_rate": "0.1",
        "use_cbam": "True",
        "attention_layers": '["layer1","layer3"]',
        "resume_from_checkpoint": "true",
        "verbose": "1",
        "seed": "42",
        "image_size": "96",
        "eval_fraction": "0.25",
        "backbone": "ResNet34",
        "max_runtime_seconds": "3600",
    }

    # Act
    config = parse_hyperparameters(raw, log=lambda line: None)

    # Assess
    assert config == TrainerConfig(
        num_epochs=10,
        batch_size=32,
        learning_rate=0.0005,
        early_stopping_patience=4,
        min_images_per_player=3,
        margin=0.3,
        weight_decay=1e-5,
        margin_decay_rate=0.95,
        margin_change_threshold=0.02,
        lr_scheduler_patience=2,
        lr_scheduler_factor=0.1,
        lr_scheduler_min_lr=1e-8,
        num_workers=2,
        prefetch_factor=4,
        force_pretraining=False,
        embedding_dim=128,
        dropout_rate=0.1,
        use_cbam=True,
        attention_layers=("layer1", "layer3"),
        resume_from_checkpoint=True,
        verbose=True,
        seed=42,
        image_size=96,
        eval_fraction=0.25,
        backbone="resnet34",
        max_runtime_seconds=3600,
    )


def test_native_json_values_and_comma_separated_layers_are_accepted():
    # Prepare
    raw = {"num_epochs": 3, "use_cbam": False, "attention_layers": "layer2, layer4", "max_runtime_seconds": None}

    # Act
    config = parse_hyperparameters(raw, log=lambda line: None)

    # Assess
    assert (config.num_epochs, config.use_cbam, config.attention_layers) == (3, False, ("layer2", "layer4"))
    assert config.max_runtime_seconds is None
    assert config.cbam_layers == (), "use_cbam=false means no CBAM, whatever attention_layers says"


def test_unknown_keys_are_logged_and_ignored():
    # Prepare
    lines = []

    # Act
    config = parse_hyperparameters({"sagemaker_region": '"us-east-1"', "num_epochs": "2"}, log=lines.append)

    # Assess
    assert config.num_epochs == 2
    assert lines == ["ignoring unknown hyperparameter 'sagemaker_region'"]


@pytest.mark.parametrize(
    "raw, expected_fragment",
    [
        ({"learning_rate": "-0.001"}, "'learning_rate' must be in (0, 1]"),
        ({"num_epochs": "2.5"}, "'num_epochs' must be an integer"),
        ({"use_cbam": "maybe"}, "'use_cbam' must be a boolean"),
        ({"attention_layers": '["layer1","layer5"]'}, "unknown ResNet stage(s) layer5"),
        ({"backbone": "vgg16"}, "'backbone' must be one of resnet18, resnet34, resnet50"),
        ({"min_images_per_player": "1"}, "'min_images_per_player' must be in [2,"),
    ],
)
def test_invalid_values_name_the_key_the_value_and_the_constraint(raw, expected_fragment):
    # Act
    with pytest.raises(InvalidHyperparametersError) as caught:
        parse_hyperparameters(raw, log=lambda line: None)

    # Assess
    assert expected_fragment in str(caught.value)


def test_all_invalid_values_are_reported_together():
    # Act
    with pytest.raises(InvalidHyperparametersError) as caught:
        parse_hyperparameters({"learning_rate": "0", "dropout_rate": "1.5"}, log=lambda line: None)

    # Assess
    assert "'learning_rate'" in str(caught.value) and "'dropout_rate'" in str(caught.value)
