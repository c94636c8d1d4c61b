"""A checkpoint's lineage: the training runs it continued from, for the model card.

A continued checkpoint (``--teacher-init`` / ``--student-init``) records the sha256 of the
checkpoint it started from and every earlier run (``init_history``, run summaries of
:func:`training.common.run_summary`). Checkpoints written before that was kept are followed
through their ``init`` paths on disk instead.
"""

from __future__ import annotations

from typing import Any

from training.common import run_summary, training_command


def checkpoint_meta(path: str) -> dict[str, Any]:
    """A checkpoint's JSON metadata (imported late: the card's other parts do not need torch)."""
    from scjd_core.models import read_checkpoint_meta

    return read_checkpoint_meta(path)


def earlier_runs(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs a continued checkpoint started from, oldest first, as run summaries
    (:func:`training.common.run_summary`): the lineage its metadata keeps (``init_history``),
    else the ``init`` checkpoints still on disk, followed while each is the file the run
    started from (same sha256 when recorded; never a loop)."""
    recipe = meta.get("training", {}).get("recipe", {})
    if recipe.get("init_history"):
        return list(recipe["init_history"])
    chain: list[dict[str, Any]] = []
    seen = {meta.get("sha256")}
    init, sha = recipe.get("init"), recipe.get("init_sha256")
    while init:
        try:
            earlier = checkpoint_meta(init)
        except Exception:  # not on this machine (e.g. the GPU run's OUT): stop there
            break
        if earlier.get("sha256") in seen or (sha and earlier.get("sha256") != sha):
            break  # overwritten since (e.g. a shipped checkpoint continued in place)
        seen.add(earlier.get("sha256"))
        chain.insert(0, run_summary(earlier))
        started = earlier.get("training", {}).get("recipe", {})
        if started.get("init_history"):
            return list(started["init_history"]) + chain  # it kept its own lineage
        init, sha = started.get("init"), started.get("init_sha256")
    return chain


def where_trained(hardware: dict[str, Any]) -> str:
    return hardware.get("gpu") or f"CPU ({hardware.get('cpu_count', '?')} cores)"


def minutes_by_hardware(earlier: list[dict[str, Any]]) -> str:
    """``3.8 min on NVIDIA H200 + 319.5 min on CPU (2 cores)``: the earlier runs' time by hardware."""
    minutes: dict[str, float] = {}
    for run in earlier:
        where = where_trained(run.get("hardware", {}))
        minutes[where] = minutes.get(where, 0.0) + float(run.get("wall_clock_s") or 0.0) / 60
    return " + ".join(f"{m:.1f} min on {w}" for w, m in minutes.items())


def merge_in_order(commands: list[str], chain: list[str]) -> None:
    """Add ``chain`` (one checkpoint's commands, oldest first) to ``commands`` keeping both orders:
    a new command goes right after the last one of its chain already listed."""
    pos = 0
    for cmd in chain:
        if not cmd:
            continue
        if cmd in commands:
            pos = commands.index(cmd) + 1
        else:
            commands.insert(pos, cmd)
            pos += 1


def training_chain(meta: dict[str, Any], earlier: list[dict[str, Any]], made_by: dict[str, str]) -> list[str]:
    """One checkpoint's commands, oldest first, for :func:`merge_in_order`; ``made_by`` maps the
    sha256 of each checkpoint seen so far to the command that wrote it, and learns this one's.

    A student's run goes after the run that wrote the teacher it distilled from (its
    ``teacher_sha256``): a teacher continued after the students' previous run, whose students
    then continued from it, would otherwise be listed after them.
    """
    own = training_command(meta)
    chain = [run["command"] for run in earlier]
    teacher_run = made_by.get(meta.get("training", {}).get("recipe", {}).get("teacher_sha256") or "")
    if teacher_run and teacher_run not in chain and teacher_run != own:
        chain.append(teacher_run)
    for run in earlier:
        if run.get("sha256"):
            made_by[run["sha256"]] = run["command"]
    if meta.get("sha256"):
        made_by[meta["sha256"]] = own
    return [*chain, own]
