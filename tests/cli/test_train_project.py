"""``ccdstudio train --data PROJECT``: a labelling project's labelled images, in the project's classes."""

import pytest
import torch

from ccdstudio.cli import main
from ccdstudio.labels.project import Project
from ccdstudio.ml.data import find_pairs
from ccdstudio.ml.modelfile import read_info
from tests.ml.conftest import CLASSES, toy_frame, write_pair

torch.set_num_threads(1)

TRAIN = ["--epochs", "1", "--batch-size", "4", "--crop", "32", "--samples-per-epoch", "4",
         "--model-config", "depth=2,base=4", "--device", "cpu", "--quiet"]


@pytest.fixture
def project(tmp_path, rng):
    """A project with two labelled frames and one unlabelled, whose classes grew after the labels were saved."""
    project = Project.create(tmp_path / "proj", CLASSES)
    for i in range(3):
        image, labels = toy_frame(rng)
        key = project.add_image(write_pair(tmp_path / "frames", f"frame{i}", image, None))
        if i < 2:
            project.save_labels(key, labels)
    project.set_classes(CLASSES.added("track"))
    project.save()
    return project


def test_train_on_a_project_uses_its_labelled_images_and_classes(project, tmp_path, capsys):
    specs = find_pairs([project.folder])
    assert [s.image.name for s in specs] == ["frame0.fits", "frame1.fits"]  # frame2 has no labels yet
    model = tmp_path / "m.safetensors"
    assert main(["train", "--data", str(project.folder), *TRAIN, "--out", str(model)]) == 0
    info = read_info(model)
    assert info.classes.names == [*CLASSES.names, "track"]  # the project's, not the label files' own
    assert [p.rsplit("/", 1)[-1] for p in info.training["images"]] == ["frame0.fits", "frame1.fits"]
    assert info.training["pixels"]["blob"] > 0 and info.training["pixels"]["track"] == 0


def test_classes_option_overrides_the_project_classes(project, tmp_path):
    model = tmp_path / "m.safetensors"
    names = ",".join(CLASSES.names)
    assert main(["train", "--data", str(project.manifest_path), "--classes", names, *TRAIN, "--out", str(model)]) == 0
    assert read_info(model).classes.names == CLASSES.names


def test_a_project_without_labels_is_a_clear_error(tmp_path, rng, capsys):
    project = Project.create(tmp_path / "empty", CLASSES)
    project.add_image(write_pair(tmp_path / "frames", "lonely", toy_frame(rng)[0], None))
    project.save()
    assert main(["train", "--data", str(project.folder), *TRAIN, "--out", str(tmp_path / "m.safetensors")]) == 2
    assert "no labelled images yet" in capsys.readouterr().err
