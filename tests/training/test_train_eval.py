"""Training, resume, evaluation and recipe, end to end on a tiny generated BVH folder."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from scjd_core.errors import CheckpointError, InputError
from scjd_core.models import create_model, load_checkpoint, read_checkpoint_meta
from tests.training.mini_mocap import make_mini_mocap
from training.__main__ import main
from training.common import LIMB_SCALE_STD, MetricsLog, load_train_state
from training.loop import LoopConfig, cosine_with_warmup, steps_within_budget
from training.mocap_data import load_mocap_data
from training.train_student import step_phase
from training.train_teacher import RunOptions, train_teacher

TINY = ["--batch-size", "3", "--val-windows", "4", "--log-every", "1", "--warmup", "1", "--quiet"]


@pytest.fixture(scope="module")
def mocap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mini_mocap(tmp_path_factory.mktemp("mocap"))


@pytest.fixture(scope="module")
def trained(mocap: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-step teacher and two 2-step students (SCJD and no distillation) trained by the CLI."""
    root = tmp_path_factory.mktemp("runs")
    data = ["--data", str(mocap), "--no-cache"]
    rc = main(
        ["teacher", "--model", "teacher-tiny", "--out", str(root / "teacher"), "--run-dir", str(root / "rt")]
        + ["--steps", "2", "--val-every", "1", *TINY, *data]
    )
    assert rc == 0
    off = ["--lambda-djed", "0", "--lambda-ajad", "0", "--lambda-tcd", "0"]
    for name, lambdas in (("scjd", ["--limb-scale-std", "0.05"]), ("nodistill", off)):
        rc = main(
            ["student", "--teacher", str(root / "teacher"), "--model", "student-tiny", "--name", name]
            + ["--out", str(root / name), "--run-dir", str(root / f"r{name}"), "--steps", "2", "--val-every", "2"]
            + [*TINY, *data, *lambdas]
        )
        assert rc == 0
    return root


def test_training_writes_checkpoints_logs_and_metadata(trained: Path) -> None:
    teacher, meta = load_checkpoint(trained / "teacher")
    assert meta["kind"] == "teacher" and teacher.config.window == 9
    tr = meta["training"]
    assert tr["steps_done"] == 2 and tr["finished"] and tr["recipe"]["loop"]["steps"] == 2
    assert tr["hardware"]["cpu"] and tr["wall_clock_s"] >= 0
    assert tr["data"]["train"]["clips"] == 2 and tr["data"]["val"]["clips"] == 2
    assert any("CMU" in lic["name"] for lic in tr["licences"])
    assert math.isfinite(meta["metrics"]["val_mpjpe_mm"])
    val_rows = (trained / "rt" / "val.csv").read_text().splitlines()
    assert val_rows[0] == "step,member,val_mpjpe_mm,time_s" and len(val_rows) == 3  # validated at steps 1, 2
    train_log = [json.loads(line) for line in (trained / "rt" / "train.jsonl").read_text().splitlines()]
    assert [r["step"] for r in train_log] == [1, 2] and all(math.isfinite(r["loss"]) for r in train_log)

    student_meta = read_checkpoint_meta(trained / "scjd")
    assert student_meta["kind"] == "student"
    recipe = student_meta["training"]["recipe"]
    assert recipe["distill"]["lambda_djed"] == 1.0 and recipe["teacher_sha256"] == meta["sha256"]
    # the body-proportion augmentation of each run is recorded (default for the teacher)
    assert tr["recipe"]["limb_scale_std"] == LIMB_SCALE_STD and recipe["limb_scale_std"] == 0.05
    log = json.loads((trained / "rscjd" / "train.jsonl").read_text().splitlines()[-1])
    assert {"pose", "djed", "ajad", "tcd", "loss"} <= set(log)
    log_nd = json.loads((trained / "rnodistill" / "train.jsonl").read_text().splitlines()[-1])
    assert {"djed", "ajad", "tcd"}.isdisjoint(log_nd) and log_nd["loss"] == pytest.approx(log_nd["pose"])
    # The DJED projection is dropped: the student checkpoint loads into a plain student.
    from safetensors import safe_open

    with safe_open(str(trained / "scjd.safetensors"), "pt") as fh:
        assert set(fh.keys()) == set(create_model("student-tiny").state_dict())


def test_teacher_is_frozen_during_distillation(trained: Path, mocap: Path) -> None:
    before = (trained / "teacher.safetensors").read_bytes()
    rc = main(
        ["student", "--teacher", str(trained / "teacher"), "--model", "student-tiny"]
        + ["--out", str(trained / "again"), "--run-dir", str(trained / "ragain"), "--steps", "1"]
        + [*TINY, "--data", str(mocap), "--no-cache"]
    )
    assert rc == 0 and (trained / "teacher.safetensors").read_bytes() == before


def test_evaluate_prints_table_and_writes_json_and_model_card(
    trained: Path, mocap: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json, card = tmp_path / "results.json", tmp_path / "MODEL_CARD.md"
    rc = main(
        ["evaluate", "--teacher", str(trained / "teacher"), "--students", f"scjd={trained / 'scjd'}"]
        + [f"no-distill={trained / 'nodistill'}", "--data", str(mocap), "--no-cache", "--windows", "5"]
        + ["--batch-size", "2", "--latency-repeats", "2", "--json", str(out_json), "--model-card", str(card)]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "SCJD student (all losses)" in printed and "no distillation" in printed and "left_wrist" in printed
    results = json.loads(out_json.read_text())
    assert [r["name"] for r in results["rows"]] == ["teacher", "scjd", "no-distill"]
    assert results["meta"]["split"] == "all" and results["meta"]["windows"] == 5  # no held-out actor here
    for row in results["rows"]:
        assert 0 < row["p_mpjpe_mm"] <= row["mpjpe_mm"] and row["mpjve_mm"] > 0
        assert row["params"] > 0 and row["flops_per_frame"] > 0 and row["latency_window_ms"] > 0
        assert row["latency_frame_ms"] == pytest.approx(row["latency_window_ms"] / 9)
        assert len(row["per_joint_mm"]) == 17 and row["per_joint_mm"]["pelvis"] == 0.0
    teacher, student = results["rows"][0], results["rows"][1]
    assert (teacher["frames_in"], student["frames_in"]) == (9, 3)
    text = card.read_text()
    assert "CC BY-SA 3.0" in text and "NSF EIA-0196217" in text
    assert f"{teacher['mpjpe_mm']:.1f}" in text and f"{student['p_mpjpe_mm']:.1f}" in text
    # The results keep each checkpoint's metadata: the card renders again with the checkpoints gone.
    moved = tmp_path / "moved.json"
    for row in results["rows"]:
        row["checkpoint"] = str(tmp_path / "gone" / row["name"])
    moved.write_text(json.dumps(results))
    assert main(["card", "--results", str(moved), "--out", str(tmp_path / "again.md")]) == 0
    assert (tmp_path / "again.md").read_text().split("## Training")[1] == text.split("## Training")[1]


def test_evaluation_is_deterministic_across_runs(trained: Path, mocap: Path, tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        path = tmp_path / f"r{i}.json"
        args = ["evaluate", "--teacher", str(trained / "teacher"), "--data", str(mocap), "--no-cache"]
        assert main([*args, "--windows", "3", "--latency-repeats", "1", "--json", str(path), "--quiet"]) == 0
        outs.append(json.loads(path.read_text())["rows"][0]["mpjpe_mm"])
    assert outs[0] == outs[1]


class _Interrupt(Exception):
    pass


def _teacher_opts(tmp: Path, mocap: Path, resume: str | None = None) -> RunOptions:
    return RunOptions(
        out=tmp / "teacher", run_dir=tmp / "run", data=str(mocap), cache=None, device="cpu", resume=resume,
        val_windows=3, progress=False,
    )  # fmt: skip


def test_resume_continues_from_saved_step_and_matches_uninterrupted_run(
    mocap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = LoopConfig(steps=4, batch_size=2, warmup=1, val_every=2, log_every=1, seed=3)
    train_teacher(_teacher_opts(tmp_path / "a", mocap), cfg, "teacher-tiny")
    reference, _ = load_checkpoint(tmp_path / "a" / "teacher")

    import training.train_teacher as tt

    real_batches = tt.train_batches

    def interrupted(*args: object, **kwargs: object):
        it = real_batches(*args, **kwargs)
        for _ in range(3):  # steps 1-3 run; the state was saved after step 2
            yield next(it)
        raise _Interrupt

    monkeypatch.setattr(tt, "train_batches", interrupted)
    with pytest.raises(_Interrupt):
        train_teacher(_teacher_opts(tmp_path / "b", mocap), cfg, "teacher-tiny")
    assert load_train_state(tmp_path / "b" / "run" / "state.pt")["step"] == 2
    monkeypatch.setattr(tt, "train_batches", real_batches)
    result = train_teacher(_teacher_opts(tmp_path / "b", mocap, resume="auto"), cfg, "teacher-tiny")
    assert result.step == 4
    resumed, meta = load_checkpoint(tmp_path / "b" / "teacher")
    assert meta["training"]["steps_done"] == 4
    steps = [json.loads(x)["step"] for x in (tmp_path / "b" / "run" / "train.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 3, 4]  # step 3 ran twice: once before the interruption, once resumed
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0)


def test_teacher_init_starts_from_the_checkpoint_and_refuses_another_model(
    trained: Path, mocap: Path, tmp_path: Path, capsys
) -> None:
    cfg = LoopConfig(steps=1, batch_size=2, warmup=0, val_every=1, seed=5, lr=1e-9, weight_decay=0.0, ema=0.0)
    train_teacher(_teacher_opts(tmp_path, mocap), cfg, "teacher-tiny", init=trained / "teacher")
    start, _ = load_checkpoint(trained / "teacher")
    continued, meta = load_checkpoint(tmp_path / "teacher")
    assert meta["training"]["recipe"]["init"].endswith("teacher")
    fresh = create_model("teacher-tiny").state_dict()
    for key, value in start.state_dict().items():  # one step at lr 1e-9: still the initial weights
        torch.testing.assert_close(continued.state_dict()[key], value, rtol=0, atol=1e-6)
    assert any(not torch.equal(fresh[k], v) for k, v in start.state_dict().items())
    base = ["teacher", "--data", str(mocap), "--no-cache", "--out", str(tmp_path / "t2"), "--quiet", "--steps", "1"]
    assert main([*base, "--model", "teacher-tiny", "--init", str(trained / "scjd")]) == InputError.exit_code
    assert main([*base, "--model", "teacher-tiny", "--model-arg", "dim=8", "--init", str(trained / "teacher")]) == 2
    assert main([*base, "--model", "teacher-tiny", "--init", str(tmp_path / "missing")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "not a teacher-tiny teacher" in err[0]
    # training-only fields (dropout rates, test-time flip) may differ: they change no weight
    regularised = ["--model", "teacher-tiny", "--model-arg", "drop_path=0.1", "--init", str(trained / "teacher")]
    assert main([*base, *regularised]) == 0


def test_student_init_from_a_shallower_checkpoint_grows_it(trained: Path, mocap: Path, tmp_path: Path) -> None:
    from training.train_student import StudentSpec, train_students

    cfg = LoopConfig(steps=1, batch_size=2, warmup=0, val_every=1, seed=5, lr=1e-9, weight_decay=0.0, ema=0.0)
    spec = StudentSpec("deep", tmp_path / "deep", model="student-tiny", overrides={"depth": 2}, init=trained / "scjd")
    train_students(_teacher_opts(tmp_path, mocap), cfg, trained / "teacher", [spec])
    start, _ = load_checkpoint(trained / "scjd")
    deep, meta = load_checkpoint(tmp_path / "deep")
    assert deep.config.depth == 2 and meta["training"]["recipe"]["grown_from_depth"] == 1
    from training.model_card import _training_row

    assert "grown from 1+1 blocks" in _training_row("deep", meta, [])[8]
    x = torch.rand(2, deep.config.window, 17, 3)
    with torch.no_grad():  # one step at lr 1e-9: the grown student still lifts as the checkpoint did
        torch.testing.assert_close(deep.forward_dense(x).pose, start.eval().forward_dense(x).pose, rtol=0, atol=1e-4)


def test_a_student_can_start_from_the_teacher(trained: Path, mocap: Path, tmp_path: Path, capsys) -> None:
    base = ["student", "--teacher", str(trained / "teacher"), "--data", str(mocap), "--no-cache", "--quiet"]
    base += ["--steps", "1", "--val-every", "1", "--batch-size", "2", "--lr", "1e-9", "--weight-decay", "0"]
    wide = ["--model", "student-tiny", "--model-arg", "dim=16", "--model-arg", "heads=2"]
    out = tmp_path / "from_teacher"
    assert main([*base, *wide, "--out", str(out), "--run-dir", str(tmp_path / "r"), "--from-teacher"]) == 0
    student, meta = load_checkpoint(out)
    teacher, _ = load_checkpoint(trained / "teacher")
    assert meta["training"]["recipe"]["from_teacher_blocks"] == [0]
    from training.model_card import _training_row

    assert "started from the teacher's block pairs 0" in _training_row("s", meta, [])[8]
    # one step at lr 1e-9: the copied weights are still the teacher's
    torch.testing.assert_close(student.encoder.spatial[0].attn.qkv.weight, teacher.encoder.spatial[0].attn.qkv.weight)
    torch.testing.assert_close(student.head.weight, teacher.head.weight, rtol=0, atol=1e-6)
    # a student of another width, blocks the teacher does not have, a malformed list: one-line errors
    bad = tmp_path / "bad"
    assert main([*base, "--model", "student-tiny", "--out", str(bad), "--from-teacher"]) == InputError.exit_code
    assert main([*base, *wide, "--out", str(bad), "--from-teacher", "0,1"]) == InputError.exit_code
    with pytest.raises(SystemExit):
        main([*base, *wide, "--out", str(bad), "--from-teacher", "1,0"])
    err = capsys.readouterr().err
    assert "dim 8 vs the teacher's 16" in err and "do not fit" in err and "teacher blocks must be" in err
    assert not Path(f"{bad}.safetensors").exists()
    # a new student from the teacher, or a trained one continued: not both (checked before any data is read)
    from training.train_student import StudentSpec

    with pytest.raises(InputError, match="give one of them"):
        StudentSpec("scjd", out, from_teacher=True, init=trained / "scjd")
    recipe = ["recipe", "--data", str(tmp_path / "no-such-mocap"), "--out", str(tmp_path / "m"), "--quiet"]
    recipe += ["--runs", str(tmp_path / "runs"), "--student-from-teacher", "--student-init", str(trained)]
    assert main(recipe) == InputError.exit_code
    assert "give one of them" in capsys.readouterr().err


def test_continued_students_carry_their_distillation_modules(trained: Path, mocap: Path, tmp_path: Path) -> None:
    from training.losses import DistillConfig, DistillLoss
    from training.train_student import StudentSpec, carry_distill_state, train_students

    saved = load_train_state(trained / "rscjd" / "state.pt")["members"]["scjd"]["extra"]
    assert "djed.proj.weight" in saved
    loss = DistillLoss(DistillConfig(), student_dim=8, teacher_dim=16)
    assert carry_distill_state(loss, trained / "rscjd" / "state.pt", "scjd")
    torch.testing.assert_close(loss.state_dict()["djed.proj.weight"], saved["djed.proj.weight"], rtol=0, atol=0)
    assert not carry_distill_state(loss, trained / "rscjd" / "state.pt", "other")  # no such member
    assert not carry_distill_state(loss, tmp_path / "missing.pt", "scjd")
    wider = DistillLoss(DistillConfig(), student_dim=12, teacher_dim=16)  # another student width: starts fresh
    assert not carry_distill_state(wider, trained / "rscjd" / "state.pt", "scjd")

    cfg = LoopConfig(steps=1, batch_size=2, warmup=0, val_every=1, seed=5, lr=1e-9, weight_decay=0.0, ema=0.0)
    spec = StudentSpec(
        "scjd", tmp_path / "s", model="student-tiny", init=trained / "scjd", init_state=trained / "rscjd" / "state.pt"
    )
    train_students(_teacher_opts(tmp_path, mocap), cfg, trained / "teacher", [spec])
    after = load_train_state(tmp_path / "run" / "state.pt")["members"]["scjd"]["extra"]
    torch.testing.assert_close(after["djed.proj.weight"], saved["djed.proj.weight"], rtol=0, atol=1e-6)
    assert read_checkpoint_meta(tmp_path / "s")["training"]["recipe"]["init_distill_state"].endswith("state.pt")


def test_continued_runs_keep_their_lineage_for_the_model_card(trained: Path, mocap: Path, tmp_path: Path) -> None:
    from training.lineage import earlier_runs, merge_in_order
    from training.model_card import _training_row

    first = tmp_path / "first"
    shutil.copy(trained / "teacher.json", tmp_path / "first.json")
    shutil.copy(trained / "teacher.safetensors", tmp_path / "first.safetensors")
    base = ["teacher", "--model", "teacher-tiny", "--data", str(mocap), "--no-cache", "--quiet", *TINY[:4]]
    # Continued twice in place, as a shipped checkpoint is: the file at the init path changes each time.
    for seed in ("1", "2"):
        assert main([*base, "--steps", "1", "--seed", seed, "--init", str(first), "--out", str(first)]) == 0
    meta = read_checkpoint_meta(first)
    history = earlier_runs(meta)
    assert len(history) == 2  # the original 2-step run, then the first continuation; not the file as it is now
    assert [h["steps_done"] for h in history] == [2, 1]
    assert history[0]["sha256"] == read_checkpoint_meta(trained / "teacher")["sha256"]
    assert "--seed 1" in history[1]["command"] and "--seed 2" in " ".join(meta["training"]["command"])
    row = _training_row("teacher", meta, history)
    where = row[8]
    assert row[7] == f"{LIMB_SCALE_STD:g}"  # the run's bone-length variation
    assert "continued from" in where and "in 2 runs" in where and "min on CPU" in where
    # A checkpoint written before lineages were kept: its start on disk supplies its own.
    older = {"sha256": "x", "training": {"recipe": {"init": str(first)}}}
    assert [h["sha256"] for h in earlier_runs(older)] == [h["sha256"] for h in history] + [meta["sha256"]]
    commands = ["gpu", "gpu2"]
    merge_in_order(commands, ["gpu", "cpu1", "cpu2", "gpu2"])
    assert commands == ["gpu", "cpu1", "cpu2", "gpu2"]


def test_a_students_run_follows_the_run_that_wrote_its_teacher() -> None:
    """The shipped chain: gpu (teacher + students), cpu (students), gpu2 (teacher continued; its
    students not kept), cpu2 (students continued, distilling from gpu2's teacher)."""
    from training.lineage import merge_in_order, training_chain

    def meta(sha: str, command: str, **recipe: str) -> dict:
        return {"sha256": sha, "training": {"shell_command": command, "recipe": recipe}}

    runs = {"T1": "gpu", "S1": "gpu", "S2": "cpu", "T2": "gpu2"}
    teacher = meta("T2", "gpu2")
    student = meta("S3", "cpu2", teacher_sha256="T2")
    made_by: dict[str, str] = {}
    commands: list[str] = []
    merge_in_order(commands, training_chain(teacher, [{"sha256": "T1", "command": runs["T1"]}], made_by))
    earlier = [{"sha256": s, "command": runs[s]} for s in ("S1", "S2")]
    merge_in_order(commands, training_chain(student, earlier, made_by))
    assert commands == ["gpu", "cpu", "gpu2", "cpu2"]  # without the teacher link: gpu, cpu, cpu2, gpu2
    assert made_by == {"T1": "gpu", "T2": "gpu2", "S1": "gpu", "S2": "cpu", "S3": "cpu2"}
    # A student of the teacher's own run (one command trained both) adds nothing twice.
    assert training_chain(meta("S4", "gpu2", teacher_sha256="T2"), [], made_by) == ["gpu2"]


def test_resume_errors_are_clear(mocap: Path, tmp_path: Path) -> None:
    cfg = LoopConfig(steps=1, batch_size=2, warmup=0, val_every=1, seed=0)
    with pytest.raises(CheckpointError, match="not found"):
        train_teacher(_teacher_opts(tmp_path, mocap, resume=str(tmp_path / "none.pt")), cfg, "teacher-tiny")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="unreadable"):
        train_teacher(_teacher_opts(tmp_path, mocap, resume=str(bad)), cfg, "teacher-tiny")


@pytest.mark.slow
def test_recipe_trains_six_students_and_writes_card(mocap: Path, tmp_path: Path) -> None:
    out, runs, card = tmp_path / "models", tmp_path / "runs", tmp_path / "CARD.md"
    args = ["recipe", "--out", str(out), "--runs", str(runs), "--model-card", str(card)]
    args += ["--teacher-model", "teacher-tiny", "--student-model", "student-tiny", "--data", str(mocap)]
    args += ["--no-cache", "--teacher-steps", "2", "--student-steps", "2", "--teacher-batch-size", "2"]
    args += ["--student-batch-size", "2", "--val-windows", "3", "--eval-windows", "3", "--latency-repeats", "1"]
    assert main([*args, "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["teacher.json", "teacher.safetensors", "student.json", "student.safetensors"]
    )
    ablations = sorted(p.stem for p in (runs / "students").glob("*.safetensors"))
    assert ablations == ["central-k", "no-ajad", "no-distill", "no-djed", "no-tcd"]
    results = json.loads((runs / "results.json").read_text())
    names = [r["name"] for r in results["rows"]]
    assert names == ["teacher", "scjd", "no-distill", "no-djed", "no-ajad", "no-tcd", "central-k"]
    central = read_checkpoint_meta(runs / "students" / "central-k")
    assert central["config"]["sampling"] == "central"
    assert read_checkpoint_meta(runs / "students" / "no-djed")["training"]["recipe"]["distill"]["lambda_djed"] == 0
    assert "SCJD student − AJAD" in card.read_text()
    # The results record the recipe's wall time, stage by stage, and the card checks it.
    recipe = results["meta"]["recipe"]
    assert set(recipe["stages_s"]) == {"data", "teacher", "students", "mlp", "evaluation"}
    assert recipe["wall_clock_s"] == pytest.approx(sum(recipe["stages_s"].values()))
    # the training stages' time is their checkpoints' (0.1 s resolution: 0.0 for these tiny runs)
    assert recipe["stages_s"]["teacher"] == read_checkpoint_meta(out / "teacher")["training"]["wall_clock_s"] >= 0
    assert recipe["stages_s"]["students"] == read_checkpoint_meta(out / "student")["training"]["wall_clock_s"] >= 0
    assert recipe["stages_s"]["evaluation"] > 0 and not recipe["resumed"] and "--teacher-steps 2" in recipe["command"]
    wall_row = f"whole recipe ≤ 150 min wall on this machine | {recipe['wall_clock_s'] / 60:.1f} min | met"
    assert wall_row in card.read_text()
    # Re-running with --resume skips the finished stages and re-evaluates; the finished stages keep their time.
    before = (out / "teacher.safetensors").read_bytes()
    assert main([*args, "--quiet", "--resume"]) == 0
    assert (out / "teacher.safetensors").read_bytes() == before
    resumed = json.loads((runs / "results.json").read_text())["meta"]["recipe"]
    assert resumed["resumed"] and resumed["stages_s"]["teacher"] == recipe["stages_s"]["teacher"]
    # The card is rendered again from the results alone, byte for byte.
    again = tmp_path / "AGAIN.md"
    assert main(["card", "--results", str(runs / "results.json"), "--out", str(again)]) == 0
    assert again.read_text() == card.read_text()
    # Another model card shows this run beside its own models.
    shipped_card = tmp_path / "SHIPPED.md"
    ev = ["evaluate", "--teacher", str(out / "teacher"), "--students", f"scjd={out / 'student'}", "--data", str(mocap)]
    ev += ["--no-cache", "--windows", "3", "--latency-repeats", "1", "--quiet", "--model-card", str(shipped_card)]
    assert main([*ev, "--card-recipe", str(runs / "results.json")]) == 0
    text = shipped_card.read_text()
    assert "## The whole recipe on this machine" in text and f"{resumed['wall_clock_s'] / 60:.1f} min (" in text


def test_card_recipe_must_be_a_recipe_run_and_fails_before_evaluating(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"meta": {"date": "x"}, "rows": []}))
    card = tmp_path / "CARD.md"
    # No --data: an evaluation would fail on the missing mocap; the bad file is reported first.
    ev = ["evaluate", "--teacher", str(trained / "teacher"), "--model-card", str(card), "--quiet"]
    for bad, message in ((plain, "has no meta.recipe"), (tmp_path / "missing.json", "cannot read")):
        assert main([*ev, "--card-recipe", str(bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: --card-recipe:") and message in err and len(err.splitlines()) == 1
    assert main([*ev, "--card-extra", str(tmp_path / "missing.json")]) == 2
    assert "--card-extra: cannot read" in capsys.readouterr().err
    assert main(["card", "--results", str(plain), "--card-recipe", str(plain), "--out", str(card)]) == 2
    assert "--card-recipe:" in capsys.readouterr().err
    assert not card.exists()


def test_user_errors_exit_non_zero_with_one_line(mocap: Path, tmp_path: Path, capsys) -> None:
    base = ["teacher", "--data", str(mocap), "--no-cache", "--out", str(tmp_path / "t"), "--quiet"]
    assert main([*base, "--model", "student-tiny", "--steps", "1"]) == 2
    assert main([*base, "--model", "nope"]) == 2
    assert main([*base, "--model", "teacher-tiny", "--model-arg", "dim"]) == 2
    assert main([*base, "--model", "teacher-tiny", "--lr", "-1"]) == 2
    assert main(["evaluate", "--teacher", str(tmp_path / "missing"), "--data", str(mocap)]) == 2
    assert main(["teacher", "--data", str(tmp_path / "nowhere"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 6 and all(line.startswith("error: ") for line in err)


def test_limb_scale_std_out_of_range_is_a_usage_error(mocap: Path, tmp_path: Path, capsys) -> None:
    base = ["teacher", "--data", str(mocap), "--no-cache", "--out", str(tmp_path / "t"), "--quiet"]
    with pytest.raises(SystemExit) as stop:  # argparse's usage error, before any data is read
        main([*base, "--model", "teacher-tiny", "--limb-scale-std", "0.5"])
    assert stop.value.code == 2
    assert "--limb-scale-std: must be in [0, 0.15]" in capsys.readouterr().err
    assert not (tmp_path / "t.safetensors").exists()


def test_student_window_must_match_teacher(trained: Path, mocap: Path) -> None:
    rc = main(
        ["student", "--teacher", str(trained / "teacher"), "--model", "student-tiny", "--model-arg", "window=11"]
        + ["--out", str(trained / "w11"), "--steps", "1", "--data", str(mocap), "--no-cache", "--quiet"]
    )
    assert rc == InputError.exit_code


def test_schedule_phase_and_log_helpers(tmp_path: Path, mocap: Path) -> None:
    factors = [cosine_with_warmup(s, 100, 10, 0.1) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[9:], factors[10:])) and factors[-1] >= 0.1
    phases = {step_phase(0, s, 10) for s in range(300)}
    assert phases == set(range(-4, 6))  # the 10 shifts of stride 10 together reach every frame
    assert step_phase(0, 5, 10) == step_phase(0, 5, 10)
    log = MetricsLog(tmp_path, "m")
    log.write({"step": 1, "loss": 0.5})
    MetricsLog(tmp_path, "m").write({"step": 2, "loss": 0.25})  # reopening appends under the same header
    assert (tmp_path / "m.csv").read_text().splitlines() == ["step,loss", "1,0.5", "2,0.25"]
    data = load_mocap_data(mocap, cache_dir=None)
    assert data.clips("all") and data.clips("auto") == data.clips("all")
    with pytest.raises(InputError, match="no 'test' clips"):
        data.clips("test")


def test_budget_is_planned_at_the_speed_after_warm_up() -> None:
    # 20 slow warm-up steps (workers starting, first GPU kernels: 1 step/s), then 5 steps/s.
    after_warm_up = steps_within_budget(45, 25.0, 120.0, since_step=20, since_s=20.0)
    whole_run = steps_within_budget(45, 25.0, 120.0, since_step=0, since_s=0.0)
    assert after_warm_up == 45 + 95 * 5  # the budget is filled at the speed it will run at
    assert whole_run == 45 + int(95 * 45 / 25)  # what counting the warm-up would have planned: 3x shorter
    assert steps_within_budget(45, 130.0, 120.0, 20, 20.0) == 46  # over budget: finish with one more step
    assert steps_within_budget(20, 20.0, 120.0, 20, 20.0) is None  # no speed measured yet
