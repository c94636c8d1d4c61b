"""Data-parallel training (``torchrun`` / DistributedDataParallel) on 2 CPU processes (gloo).

The claim checked: with ``--batch-size B`` as the global batch, ``W`` ranks each building
their ``B/W`` items of every step's batch and DDP averaging the gradients give the same
weights as one process training on the whole batch, for the teacher and for a distilled
student (DJED projection and the balanced distillation weights included).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

import pytest
import torch

from scjd_core.errors import InputError
from tests.training.mini_mocap import make_mini_mocap
from training import distributed
from training.common import StepBatches, train_batches

#: Max |w_ddp - w_single| allowed (and max |pose_ddp - pose_single| in metres). Both runs do the
#: same arithmetic except the order of float additions: one process averages the loss over all B
#: windows, two ranks each average B/2 windows and DDP then averages the two gradients, so the
#: gradients differ by float32 rounding (~1e-7 relative). AdamW turns that into weight differences
#: of the same relative size times lr (1e-3) per step: ~1e-8 after 3 steps (measured: < 2e-7).
#: 1e-5 leaves room for rounding, yet a real fault (a rank seeing the wrong items, one rank's
#: gradient only, gradients summed instead of averaged, an unsynchronised DJED projection or
#: balance ratio) moves weights by ~lr = 1e-3 per step.
#:
#: One exception, checked through the outputs instead: parameters the outputs do not depend on
#: (the head and final-norm bias shifts that ``subtract_root`` removes, attention key biases that
#: the softmax removes). Their true gradient is exactly 0, so both runs feed AdamW pure rounding
#: noise (~1e-9), which it normalises into random steps of up to lr: ~1e-4 apart after 3 steps in
#: *any* two runs whose float sums are ordered differently, and harmless since nothing reads them.
TOLERANCE = 1e-5

STEPS = 3
GLOBAL_BATCH = 4


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports (bound together, so the OS cannot hand out one twice)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _args(kind: str, root: Path, mocap: Path, teacher: Path | None = None) -> list[str]:
    """CLI arguments of a tiny 3-step run (``kind`` = teacher or student) writing under ``root``."""
    common = ["--out", str(root / kind), "--run-dir", str(root / f"run-{kind}"), "--steps", str(STEPS)]
    common += ["--batch-size", str(GLOBAL_BATCH), "--val-every", "2", "--val-windows", "4", "--log-every", "1"]
    common += ["--warmup", "1", "--quiet", "--data", str(mocap), "--no-cache", "--device", "cpu", "--seed", "5"]
    if kind == "teacher":
        return ["teacher", "--model", "teacher-tiny", *common]
    # All distillation terms on, balanced (the default). AJAD as MSE: on these untrained tiny models
    # the attention maps are near-uniform, the KL form's ~1e-6 value is mostly float32 cancellation
    # noise, and the balance ratio (~1e6) would turn that noise into gradient. The MSE form has no
    # cancellation, so the test measures the DDP reduction order, not that noise.
    return ["student", "--model", "student-tiny", "--teacher", str(teacher), "--ajad-mode", "mse", *common]


def _capture_final_weights(dump: Path) -> None:
    """Make every ``TrainingLoop.run`` save its members' final weights (model + extra) per rank."""
    from training.loop import TrainingLoop

    real = TrainingLoop.run
    if getattr(real, "_captures", False):
        return

    def run(self, batches, progress=True):  # type: ignore[no-untyped-def]
        result = real(self, batches, progress)
        weights = {}
        for m in self.members:
            weights.update({f"{m.name}.model.{k}": v.detach().clone() for k, v in m.model.state_dict().items()})
            if m.extra is not None:
                weights.update({f"{m.name}.extra.{k}": v.detach().clone() for k, v in m.extra.state_dict().items()})
        # rank 0's value on every rank (what a time-budgeted run does with its step count)
        weights["broadcast"] = torch.tensor(distributed.broadcast_int(10 + distributed.rank()))
        kind = "teacher" if "teacher" in [m.name for m in self.members] else "student"
        torch.save(weights, dump / f"{kind}-rank{distributed.rank()}.pt")
        return result

    run._captures = True  # type: ignore[attr-defined]
    TrainingLoop.run = run  # type: ignore[method-assign]


def _worker(rank: int, world: int, ports: list[int], root: str, mocap: str, teacher: str) -> None:
    """One ``torchrun``-like rank: the torchrun environment, then the CLI twice (teacher, student)."""
    from training.__main__ import main

    os.environ.update({"WORLD_SIZE": str(world), "RANK": str(rank), "LOCAL_RANK": str(rank)})
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "LOCAL_WORLD_SIZE": str(world)})
    if sys.platform == "linux":  # gloo on the loopback device, whatever the host name resolves to
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    _capture_final_weights(Path(root))
    for port, kind in zip(ports, ("teacher", "student"), strict=True):
        os.environ["MASTER_PORT"] = str(port)  # each CLI call joins (and leaves) its own process group
        args = _args(kind, Path(root), Path(mocap), Path(teacher)) + ["--threads", "1"]
        assert main(args) == 0, f"rank {rank}: {kind} run failed"


def _spawn(world: int, *args: object, timeout: float = 150.0) -> None:
    ctx = torch.multiprocessing.start_processes(_worker, args=(world, *args), nprocs=world, join=False)
    deadline = time.monotonic() + timeout
    while not ctx.join(timeout=1.0):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
            pytest.fail(f"the {world} training processes did not finish within {timeout:.0f} s")


def _model(kind: str, weights: dict[str, torch.Tensor]) -> torch.nn.Module:
    """The tiny model of ``kind`` holding the captured weights."""
    from scjd_core.models import create_model

    prefix = "teacher.model." if kind == "teacher" else "scjd.model."
    model = create_model(f"{kind}-tiny")
    model.load_state_dict({k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)})
    return model.eval()


def _outputs(kind: str, model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Every output a loss reads (student: sparse and dense poses, embeddings, attention maps)."""
    if kind == "teacher":
        return [model(x, return_attention=False).pose]
    idx = model.sample_indices(0)
    out = model(x[:, idx], idx, return_attention=True)
    return [out.pose_sparse, out.pose, out.embedding, *out.attention]


def _output_invariant(kind: str, weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per weight, the elements no output depends on: a float64 gradient of ~0 for a random mix of outputs."""
    model = _model(kind, weights).double()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, model.config.window, 17, 3, generator=gen, dtype=torch.float64)
    outs = _outputs(kind, model, x)
    sum(((o * torch.randn(o.shape, generator=gen, dtype=o.dtype)).sum() for o in outs), torch.zeros(())).backward()
    grads = {n: p.grad.abs() for n, p in model.named_parameters()}
    top = max(float(g.max()) for g in grads.values())
    prefix = "teacher.model." if kind == "teacher" else "scjd.model."
    return {prefix + n: g <= 1e-9 * top for n, g in grads.items()}


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], skip: dict[str, torch.Tensor]) -> float:
    """Max |a - b| / max(1, |b|) over all weights and buffers, leaving out the elements ``skip`` marks.

    Relative above 1: the DJED/AJAD/TCD balance ratios (a buffer of the DJED module) reach ~1e6.
    """
    assert a.keys() == b.keys()
    diffs = [0.0]
    for k in a:
        if k != "broadcast":
            d = (a[k].double() - b[k].double()).abs() / b[k].double().abs().clamp_min(1.0)
            diffs += d[~skip[k]].tolist() if k in skip else [float(d.max())]
    return max(diffs)


def _losses(run_dir: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run_dir / "train.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def mocap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mini_mocap(tmp_path_factory.mktemp("mocap"))


def test_shards_of_the_ranks_make_up_the_single_process_batch(mocap: Path) -> None:
    from training.mocap_data import load_mocap_data

    clips = load_mocap_data(mocap, cache_dir=None, progress=False).splits["train"]
    for workers in (0, 2):  # with DataLoader workers too
        whole = list(train_batches(clips, 9, 4, seed=1, start=3, stop=5, workers=workers))
        parts = [list(train_batches(clips, 9, 4, 1, 3, 5, workers, rank=r, world=2)) for r in range(2)]
        assert len(whole) == len(parts[0]) == len(parts[1]) == 2
        for step, batch in enumerate(whole):
            for key in ("inputs", "target"):
                assert parts[0][step][key].shape[0] == 2
                joined = torch.cat([parts[0][step][key], parts[1][step][key]])
                torch.testing.assert_close(joined, batch[key], rtol=0, atol=0)
    assert distributed.shard_bounds(12, 2, 4) == (6, 9)
    with pytest.raises(InputError, match=r"--batch-size 6 is the global batch .* 4 processes: use a multiple of 4"):
        StepBatches(None, 6, 0, 1, rank=0, world=4)


def test_single_process_helpers_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.init("cpu") is False  # not started by torchrun: no process group
    assert not distributed.is_active() and distributed.is_main()
    assert (distributed.rank(), distributed.world_size(), distributed.local_rank()) == (0, 1, 0)
    assert distributed.broadcast_int(7) == 7 and distributed.shard_bounds(5) == (0, 5)
    distributed.barrier()
    distributed.cleanup()


@pytest.mark.slow
def test_two_processes_match_one_process_with_the_same_global_batch(
    mocap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training.__main__ import main
    from training.loop import TrainingLoop

    monkeypatch.setattr(TrainingLoop, "run", TrainingLoop.run)  # undone after the test
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    single.mkdir()
    ddp.mkdir()
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    _capture_final_weights(single)
    assert main(_args("teacher", single, mocap)) == 0
    teacher = single / "teacher"  # both student runs distil from this teacher
    assert main(_args("student", single, mocap, teacher)) == 0

    _spawn(2, _free_ports(2), str(ddp), str(mocap), str(teacher))

    for kind in ("teacher", "student"):
        ref = torch.load(single / f"{kind}-rank0.pt")
        r0, r1 = (torch.load(ddp / f"{kind}-rank{r}.pt") for r in range(2))
        assert int(r0["broadcast"]) == int(r1["broadcast"]) == 10  # rank 0's value everywhere
        # (a) the ranks end with identical weights: they applied the same averaged gradients
        assert _max_diff(r0, r1, {}) == 0.0, f"{kind}: the ranks' weights differ"
        # (b) and with the single-process weights, up to float reduction order (see TOLERANCE)
        invariant = _output_invariant(kind, ref)
        diff, raw = _max_diff(r0, ref, invariant), _max_diff(r0, ref, {})
        x = torch.randn(4, 9, 17, 3, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            outs = zip(_outputs(kind, _model(kind, r0), x), _outputs(kind, _model(kind, ref), x), strict=True)
            out_diff = max(float((a - b).abs().max()) for a, b in outs)
        skipped = sum(int(m.sum()) for m in invariant.values())
        print(
            f"{kind}: max |w_ddp - w_single| = {diff:.3g} ({raw:.3g} with the {skipped} output-invariant weights); "
            f"max output difference {out_diff:.3g} (tolerance {TOLERANCE:g})"
        )
        assert diff <= TOLERANCE, f"{kind}: 2 ranks differ from 1 process by {diff:.3g}"
        assert out_diff <= TOLERANCE, f"{kind}: 2 ranks' outputs differ from 1 process's by {out_diff:.3g}"
        assert any(".extra." in k for k in ref) == (kind == "student")  # the DJED projection is compared too
        # rank 0 alone wrote the logs (once per step) and the checkpoint; its losses are the global batch's
        assert _losses(ddp / f"run-{kind}") == pytest.approx(_losses(single / f"run-{kind}"), rel=1e-5)
        assert (ddp / f"{kind}.safetensors").is_file() and (ddp / f"run-{kind}" / "state.pt").is_file()
