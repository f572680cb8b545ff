"""``ccdstudio demo``: the headless main job on the bundled demo frame."""

import csv
import json

from ccdstudio.cli import main


def test_demo_writes_cluster_table_and_says_where(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"results are in {out}" in printed
    with open(out / "clusters.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 20  # the demo frame holds many clusters above 5 sigma
    assert all(float(row["Area"]) >= 1 for row in rows)
    assert (out / "clusters_mask.tif").is_file()
    # The bundled model segments the frame: a label map with clusters and a predictions record.
    record = json.loads((out / "predictions.json").read_text())["predictions"][0]
    assert record["classes"] == ["background", "glowing", "hot_pixel", "cluster"]
    assert record["pixels"]["cluster"] > 0 and (out / "ccd_demo_labels.fits").is_file()


def test_no_screen_runs_the_demo(monkeypatch):
    from ccdstudio.cli import _default_command

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert _default_command() == "demo"
