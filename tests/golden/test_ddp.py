"""Training under torchrun: two local processes, DistributedDataParallel over gloo."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_training_keeps_replicas_identical(tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
           "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(_free_port()),
           "-m", "glocal.cli", "train", "--hidden", "16", "--epochs", "2", "--qat-epochs", "1",
           "--batch", "64", "--steps", "4", "--no-progress", "--out", str(out),
           "--model-path", str(tmp_path / "m.npz")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    m = json.loads((out / "digits-hp" / "metrics.json").read_text())
    assert m["world_size"] == 2
    a, b = m["param_checksums"]
    assert a == b, "DDP replicas diverged"
    assert (tmp_path / "m.npz").is_file()
