"""Projects on disk: manifest round trips, images, labels, remaps, autosave and recovery after a kill."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ccdstudio.errors import CcdstudioError, FormatError
from ccdstudio.labels import autosave
from ccdstudio.labels.classes import ClassSet
from ccdstudio.labels.io import load_labels
from ccdstudio.labels.project import MANIFEST, Project
from ccdstudio.labels.remap import Remap


@pytest.fixture
def project(tmp_path):
    return Project.create(tmp_path / "proj")


def _labels(shape=(20, 30), value=3):
    labels = np.zeros(shape, np.uint8)
    labels[2:6, 4:10] = value
    return labels


def test_create_open_round_trip(tmp_path, project):
    (tmp_path / "data").mkdir()
    key = project.add_image(tmp_path / "data" / "frame 01.fits", settings={"stretch": "zscale"})
    second = project.add_image(tmp_path / "data" / "frame 01.fits")
    assert (key, second) == ("frame_01", "frame_01-2")
    project.add_model(tmp_path / "models" / "unet.safetensors", name="ccd-unet", epochs=20)
    project.settings["brush_size"] = 7
    assert project.dirty
    project.save()
    assert not project.dirty
    manifest = json.loads((tmp_path / "proj" / MANIFEST).read_text())
    assert manifest["version"] == 1 and manifest["images"][0]["path"] == "../data/frame 01.fits"
    assert manifest["models"][0]["path"] == "../models/unet.safetensors"
    again = Project.open(tmp_path / "proj")
    assert again.to_dict() == project.to_dict()
    assert again.image_path(key) == tmp_path / "data" / "frame 01.fits"
    assert again.images[key].settings == {"stretch": "zscale"}
    assert Project.open(tmp_path / "proj" / MANIFEST).classes == ClassSet.preset("ccd")


def test_create_twice_and_open_missing(tmp_path, project):
    with pytest.raises(CcdstudioError, match="already"):
        Project.create(tmp_path / "proj")
    with pytest.raises(CcdstudioError, match="no ccdstudio project"):
        Project.open(tmp_path / "elsewhere")


@pytest.mark.parametrize("text, message", [
    ("{not json", "unreadable"),
    ('{"format": "something else"}', "not a ccdstudio project"),
    ('{"format": "ccdstudio-project", "version": 99, "classes": {}}', "newer"),
    ('{"format": "ccdstudio-project", "version": 1, "classes": {"classes": [{"index": 0}]}}', "class set"),
])
def test_damaged_manifest(tmp_path, project, text, message):
    (tmp_path / "proj" / MANIFEST).write_text(text)
    with pytest.raises(CcdstudioError, match=message):
        Project.open(tmp_path / "proj")


def test_unknown_manifest_keys_survive(tmp_path, project):
    data = json.loads((tmp_path / "proj" / MANIFEST).read_text())
    data["future_feature"] = {"x": 1}
    (tmp_path / "proj" / MANIFEST).write_text(json.dumps(data))
    opened = Project.open(tmp_path / "proj")
    opened.save()
    assert json.loads((tmp_path / "proj" / MANIFEST).read_text())["future_feature"] == {"x": 1}


def test_labels_save_load_and_stats(tmp_path, project):
    key = project.add_image(tmp_path / "scroll" / "layers")
    assert project.load_labels(key, shape=(20, 30)).sum() == 0
    with pytest.raises(CcdstudioError, match="no labels"):
        project.load_labels(key)
    labels = _labels()
    project.mark_changed(key)
    assert project.unsaved_images == [key]
    project.save_labels(key, labels)
    assert project.unsaved_images == []
    assert project.labels_path(key).name == f"{key}.png"
    np.testing.assert_array_equal(project.load_labels(key), labels)
    assert project.stats(key)["cluster"] == {"pixels": 24, "fraction": 24 / 600}
    project.save()
    assert Project.open(project.folder).stats(key)["background"]["pixels"] == 576


def test_fits_image_gets_fits_labels_with_header(tmp_path, project):
    from astropy.io import fits

    key = project.add_image(tmp_path / "frame.fits")
    project.save_labels(key, _labels(), header=fits.Header({"CRVAL1": 1.5}))
    assert project.labels_path(key).suffix == ".fits"
    assert fits.getheader(project.labels_path(key))["CRVAL1"] == 1.5


def test_remove_image_keeps_labels_unless_asked(tmp_path, project):
    key = project.add_image(tmp_path / "a.png")
    project.save_labels(key, _labels())
    path = project.labels_path(key)
    project.remove_image(key)
    assert path.exists() and key not in project.images
    key = project.add_image(tmp_path / "a.png")
    project.save_labels(key, _labels())
    project.remove_image(key, delete_labels=True)
    assert key not in project.images and not path.exists()
    with pytest.raises(CcdstudioError, match="no image"):
        project.image_path(key)


def test_save_as_moves_relative_paths_and_copies_labels(tmp_path, project):
    key = project.add_image(tmp_path / "data" / "x.tif")
    project.save_labels(key, _labels())
    project.save()
    project.save_as(tmp_path / "deeper" / "copy")
    assert project.folder == tmp_path / "deeper" / "copy"
    assert project.images[key].path == "../../data/x.tif"
    assert project.image_path(key) == tmp_path / "data" / "x.tif"
    np.testing.assert_array_equal(project.load_labels(key), _labels())
    assert (tmp_path / "proj" / MANIFEST).exists()  # the original stays
    with pytest.raises(CcdstudioError, match="already"):
        project.save_as(tmp_path / "proj")


def test_remaps_are_recorded_and_chained(tmp_path):
    six = ClassSet.from_names(["background", "glowing", "hot_pixel", "cluster", "muon", "electron"])
    project = Project.create(tmp_path / "p", six)
    first = Remap.merge(six, {4: 3, 5: 3})
    project.add_remap(first)
    with pytest.raises(CcdstudioError, match="follow"):
        project.add_remap(first)
    project.add_remap(Remap.merge(first.target, {"glowing": "background"}))
    project.save()
    combined = Project.open(tmp_path / "p").export_remap()
    np.testing.assert_array_equal(combined.apply(np.arange(6, dtype=np.uint8)[None]), [[0, 0, 1, 2, 2, 2]])
    assert Project.create(tmp_path / "q").export_remap() is None


def test_full_disk_leaves_files_and_memory_untouched(tmp_path, project, monkeypatch):
    key = project.add_image(tmp_path / "a.png")
    project.save_labels(key, _labels(value=1))
    project.save()
    manifest_before = (project.folder / MANIFEST).read_bytes()
    labels_before = project.labels_path(key).read_bytes()
    stats_before = project.stats(key)
    labels = _labels(value=2)
    kept = labels.copy()
    project.mark_changed(key)
    project.settings["changed"] = True

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(CcdstudioError, match="disk is full"):
        project.save_labels(key, labels)
    with pytest.raises(CcdstudioError, match="disk is full"):
        project.save()
    with pytest.raises(CcdstudioError, match="disk is full"):
        project.autosave(key, labels)
    monkeypatch.undo()
    np.testing.assert_array_equal(labels, kept)
    assert project.dirty and project.unsaved_images == [key] and project.stats(key) == stats_before
    assert (project.folder / MANIFEST).read_bytes() == manifest_before
    assert project.labels_path(key).read_bytes() == labels_before


def test_project_under_a_file_raises_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CcdstudioError, match="could not save the project"):
        Project.create(tmp_path / "afile" / "proj")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_project_folder(tmp_path, project):
    key = project.add_image(tmp_path / "a.png")
    project.folder.chmod(0o555)
    try:
        with pytest.raises(CcdstudioError, match="permission"):
            project.save()
        with pytest.raises(CcdstudioError):
            project.save_labels(key, _labels())
    finally:
        project.folder.chmod(0o755)


def test_own_autosave_is_not_offered_and_close_removes_it(tmp_path, project):
    key = project.add_image(tmp_path / "a.png")
    path = project.autosave(key, _labels())
    assert path.is_file() and list((project.folder / ".autosave").glob("session-*.lock"))
    assert project.recoverable() == []  # this process is alive
    project.close()
    assert not path.exists() and not list((project.folder / ".autosave").glob("session-*.lock"))


def _dead_owner():
    """An owner record of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return autosave.Owner(child.pid, autosave.Owner.me().host, None)


def test_recovery_offers_autosave_of_dead_process(tmp_path, project):
    key = project.add_image(tmp_path / "a.png")
    other = project.add_image(tmp_path / "b.png")
    project.save()
    folder = project.folder / ".autosave"
    autosave.write(folder, key, _labels(value=2), project.classes, owner=_dead_owner())
    autosave.write(folder, other, _labels(value=1), project.classes, owner=_dead_owner())
    reopened = Project.open(project.folder)
    assert sorted(r.key for r in reopened.recoverable()) == [key, other]
    np.testing.assert_array_equal(reopened.recover(key), _labels(value=2))
    assert reopened.unsaved_images == [key]
    reopened.discard_recovery(other)
    assert [r.key for r in reopened.recoverable()] == [key]
    reopened.save_labels(key, reopened.recover(key))  # saving drops the autosave
    assert reopened.recoverable() == []
    with pytest.raises(CcdstudioError, match="nothing to recover"):
        reopened.recover(key)


def test_autosave_older_than_saved_labels_is_not_offered(tmp_path, project):
    key = project.add_image(tmp_path / "a.png")
    folder = project.folder / ".autosave"
    autosave.write(folder, key, _labels(value=2), project.classes, owner=_dead_owner())
    time.sleep(0.01)
    from ccdstudio.labels.io import save_labels

    save_labels(project.labels_path(key), _labels(value=1), project.classes)  # saved later, outside the project
    assert project.recoverable() == []


def test_pid_reused_by_another_process_counts_as_dead():
    me = autosave.Owner.me()
    if me.started is None:
        pytest.skip("process start times are only known on Linux")
    assert me.alive()
    assert not autosave.Owner(me.pid, me.host, me.started - 100).alive()
    assert autosave.Owner(me.pid, "some-other-host", None).alive()


def test_corrupt_autosave_is_ignored_and_reported(tmp_path, project):
    key = project.add_image(tmp_path / "a.png")
    folder = project.folder / ".autosave"
    path = autosave.write(folder, key, _labels(), project.classes, owner=_dead_owner())
    path.write_bytes(path.read_bytes()[:100])
    assert project.recoverable() == []
    with pytest.raises(FormatError):
        autosave.read(path)


def test_open_removes_old_stray_temporaries(tmp_path, project):
    folder = project.folder / ".autosave"
    folder.mkdir()
    old, new = folder / ".a.autosave.npz.x1.tmp.npz", folder / ".a.autosave.npz.x2.tmp.npz"
    old.write_bytes(b"half")
    new.write_bytes(b"half")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    Project.open(project.folder)
    assert not old.exists() and new.exists()  # a fresh one may belong to a live writer


def test_open_elsewhere_lists_live_sessions(tmp_path, project):
    folder = project.folder / ".autosave"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        autosave.lock(folder, autosave.Owner(child.pid, autosave.Owner.me().host, None))
        autosave.lock(folder, _dead_owner())
        assert project.open_elsewhere() == [child.pid]
        assert len(list(folder.glob("session-*.lock"))) == 1  # the stale lock was cleared
    finally:
        child.kill()
        child.wait()


def _autosave_forever(folder, key, ready_fd):
    """The killed child: autosave (and now and then save) ever newer uniform label maps."""
    try:
        project = Project.open(folder)
        version = 0
        while True:
            version += 1
            labels = np.full((1000, 1200), version % 256, np.uint8)
            project.autosave(key, labels)
            if version % 3 == 1:
                project.save_labels(key, labels)
            if version == 1:
                os.write(ready_fd, b"r")
    finally:
        os._exit(1)  # never return into the test runner


def _uniform_value(labels):
    values = np.unique(labels)
    assert values.size == 1, f"torn labels: values {values[:10]}"
    return int(values[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")
def test_kill_9_mid_autosave_never_corrupts(tmp_path):
    classes = ClassSet.from_names([f"v{i}" for i in range(256)])
    project = Project.create(tmp_path / "p", classes)
    key = project.add_image(tmp_path / "segment.tif")
    project.save()
    rng = np.random.default_rng(7)
    for _ in range(6):
        ready_read, ready_write = os.pipe()
        pid = os.fork()  # a fork starts at once, with every writer already imported
        if pid == 0:
            _autosave_forever(project.folder, key, ready_write)
        os.close(ready_write)
        assert os.read(ready_read, 1) == b"r"
        os.close(ready_read)
        time.sleep(float(rng.uniform(0.0, 0.3)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)

        reopened = Project.open(project.folder)
        saved_path = reopened.labels_path(key)
        saved = _uniform_value(load_labels(saved_path)[0]) if saved_path.exists() else None
        offered = reopened.recoverable()
        autosave_path = autosave.autosave_path(reopened.folder / ".autosave", key)
        if not autosave_path.exists():  # killed just after a save, which drops the autosave
            assert saved is not None and offered == []
            continue
        labels, _, record = autosave.read(autosave_path)
        autosaved = _uniform_value(labels)
        if saved is None or record.time > saved_path.stat().st_mtime:
            assert [r.key for r in offered] == [key]
            assert _uniform_value(reopened.recover(key)) == autosaved
        else:  # killed between a save and the removal of the autosave it replaced
            assert offered == [] and saved == autosaved
