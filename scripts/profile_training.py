"""Training throughput of one model shape, and where a step's time goes.

Measures a training step of a teacher or a student (dense forward, MPJPE loss, backward, AdamW) on random
windows of the model's shape: seconds per step (median), windows/s and frames/s,
achieved FLOP/s (``torch.utils.flop_counter`` of one step), then the data side (how many
training windows per second one process makes) and, with ``--profile``, the top
operators of one step (``torch.profiler``). The training log (``RUNS/*/train.csv``,
``windows_per_s``) gives the same throughput for a real run.

Usage::

    python scripts/profile_training.py [--model teacher-s] [--model-arg dim=64 ...] [--batch-size 32]
                                       [--device cpu|cuda] [--amp off|bf16] [--profile] [--json F]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch


def main(argv: list[str] | None = None) -> int:
    """Measure and print; returns the exit status."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="teacher-s")
    p.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE", help="config override")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=5, help="timed steps (after 2 warm-up steps)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--amp", choices=("off", "bf16"), default="off")
    p.add_argument("--profile", action="store_true", help="print the top operators of one step")
    p.add_argument("--data", help="mocap folder or pack for the data-side rate (default: the usual search)")
    p.add_argument("--json", help="write the figures here")
    a = p.parse_args(argv)

    from torch.utils.flop_counter import FlopCounterMode

    from scjd_core.models import create_model
    from training.losses import mpjpe_loss

    overrides = {}
    for item in a.model_arg:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value)
    device = torch.device(a.device)
    torch.manual_seed(0)
    model = create_model(a.model, **overrides).to(device).train()
    cfg = model.config
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(a.batch_size, cfg.window, cfg.num_joints, cfg.in_dim, device=device)
    y = torch.randn(a.batch_size, cfg.window, cfg.num_joints, 3, device=device)

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=a.amp == "bf16"):
            loss = mpjpe_loss(model.forward_dense(x, return_attention=False).pose.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(2):
        step()
    sync()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    with FlopCounterMode(display=False) as fc:
        step()
    flops = fc.get_total_flops()
    out = {
        "model": a.model,
        "overrides": overrides,
        "params": sum(p.numel() for p in model.parameters()),
        "batch_size": a.batch_size,
        "window": cfg.window,
        "device": str(device),
        "amp": a.amp,
        "threads": torch.get_num_threads(),
        "s_per_step": sec,
        "windows_per_s": a.batch_size / sec,
        "frames_per_s": a.batch_size * cfg.window / sec,
        "gflop_per_step": flops / 1e9,
        "gflop_per_s": flops / 1e9 / sec,
        "torch": torch.__version__,
    }
    try:
        from training.common import training_noise
        from training.data import MocapWindowDataset
        from training.mocap_data import load_mocap_data

        mocap = load_mocap_data(a.data, progress=False)
        ds = MocapWindowDataset(mocap.splits["train"], cfg.window, 256, noise=training_noise(), train=True)
        ds.set_epoch(1)
        t0 = time.perf_counter()
        for i in range(128):
            ds[i]
        out["data_windows_per_s_one_process"] = 128 / (time.perf_counter() - t0)
    except Exception as exc:  # the data may be absent: the model figures still stand
        out["data_windows_per_s_one_process"] = None
        out["data_note"] = f"data side not measured: {exc}"
    print(
        f"{a.model} {overrides or ''} ({out['params']:,} params), batch {a.batch_size} x T={cfg.window} on "
        f"{device} ({out['threads']} threads, amp {a.amp}): {sec:.3f} s/step, {out['windows_per_s']:.1f} windows/s, "
        f"{out['frames_per_s']:.0f} frames/s, {out['gflop_per_step']:.1f} GFLOP/step = {out['gflop_per_s']:.1f} GFLOP/s"
    )
    if out["data_windows_per_s_one_process"]:
        print(f"data: {out['data_windows_per_s_one_process']:.0f} training windows/s from one process")
    if a.profile:
        from torch.profiler import ProfilerActivity, profile

        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        with profile(activities=acts) as prof:
            step()
            sync()
        key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
        print(prof.key_averages().table(sort_by=key, row_limit=15))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
