"""Distributed training: two gloo ranks on CPU under torchrun run the real command and agree."""

import json
import os
import subprocess
import sys

from ccdstudio.ml.modelfile import read_checkpoint, read_info


def test_two_gloo_ranks_under_torchrun(toy_files, tmp_path):
    out = tmp_path / "ddp.safetensors"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "ccdstudio",
        "train", "--data", str(toy_files[0].parent), "--epochs", "2", "--batch-size", "2", "--crop", "32",
        "--samples-per-epoch", "8", "--model-config", "depth=2,base=4", "--device", "cpu", "--out", str(out),
        "--json-events",
    ]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    epochs = [e for e in events if e.get("event") == "epoch"]
    # Rank 0 alone reports: one event per epoch, not one per rank.
    assert [e["epoch"] for e in epochs] == [1, 2]
    # Each rank took 2 of the 4 batches of 2 crops per epoch.
    assert max(e["step"] for e in events if e.get("event") == "step") == 2
    assert read_info(out).training["world_size"] == 2
    assert read_checkpoint(out.with_name("ddp.last.safetensors"))[3]["progress"]["epoch"] == 2
