"""Distributed training: two gloo ranks on CPU under torchrun run the real command, agree, and stop together."""

import json
import os
import re
import signal
import subprocess
import sys

from ccdstudio.ml.modelfile import load_model, read_checkpoint, read_info


def test_two_gloo_ranks_under_torchrun(toy_files, tmp_path):
    out = tmp_path / "ddp.safetensors"
    command, env = _torchrun_train(toy_files, out, epochs=2)
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


def test_sigterm_to_torchrun_stops_both_ranks_and_keeps_the_best_model(toy_files, tmp_path):
    # What the GUI's Stop does: SIGTERM to torchrun, which passes it on to each rank (in its own session).
    out = tmp_path / "ddp.safetensors"
    command, env = _torchrun_train(toy_files, out, epochs=500)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               cwd=tmp_path)
    try:
        events = []
        for line in process.stdout:  # until rank 0 has written a best model
            if line.startswith("{"):
                events.append(json.loads(line))
                if events[-1].get("event") == "checkpoint" and events[-1]["kind"] == "last":
                    break
        process.send_signal(signal.SIGTERM)
        rest, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    events += [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    assert events[-1]["event"] == "finished" and events[-1]["stopped"] == "cancelled", stderr[-3000:]
    assert stderr.count("ccdstudio: cancelled") == 2, stderr[-3000:]  # both ranks left through the cancel path
    assert not re.search(r'File ".*ccdstudio[/\\]', stderr)  # no traceback through ccdstudio (torchrun prints its own)
    epochs = [e["epoch"] for e in events if e.get("event") == "epoch"]
    assert epochs and epochs[-1] < 500
    model = load_model(out)  # the best model is whole and loads
    assert model.info.training["world_size"] == 2 and model.info.metrics["epoch"] <= epochs[-1]
    assert read_checkpoint(out.with_name("ddp.last.safetensors"))[3]["progress"]["epoch"] >= 1


def _torchrun_train(toy_files, out, epochs: int) -> tuple[list[str], dict[str, str]]:
    """``ccdstudio train`` on two gloo ranks: the command and its environment."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "ccdstudio",
        "train", "--data", str(toy_files[0].parent), "--epochs", str(epochs), "--batch-size", "2", "--crop", "32",
        "--samples-per-epoch", "8", "--model-config", "depth=2,base=4", "--device", "cpu", "--out", str(out),
        "--json-events",
    ]
    return command, os.environ | {"OMP_NUM_THREADS": "1"}
