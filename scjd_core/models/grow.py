"""Start a lifter from another trained lifter's weights instead of from scratch.

Deeper (:func:`load_deepened`): grow a trained lifter without changing what it computes
(Net2Net-style).
A model of ``depth`` ``d`` is copied into a model of the same configuration but a larger
``depth`` ``D``: the first ``d`` [spatial, temporal] block pairs get the trained weights and
the ``D - d`` new pairs are appended after them as **identity** blocks (the output
projection of their attention and the second layer of their MLP start at zero, so both
residual branches add nothing). The grown model returns exactly the poses, maps and
embeddings of the original; training then fits the new blocks from there, instead of
starting a larger model from scratch. Used by ``--init`` of the training commands when
the checkpoint is shallower than the model being trained.

From the teacher (:func:`load_from_teacher`): a student of the teacher's width and fewer block
pairs copies the teacher's embeddings, some of its block pairs and its head (the recipe's
``--student-from-teacher``).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from scjd_core.models.blocks import Block


def growable_depth(start: dict[str, Any], target: dict[str, Any]) -> bool:
    """True when config dict ``target`` is ``start`` with only a larger ``depth``."""
    same = {k: v for k, v in start.items() if k != "depth"} == {k: v for k, v in target.items() if k != "depth"}
    return same and int(target.get("depth", 0)) > int(start.get("depth", 0))


def identity_block(block: Block) -> None:
    """Zero a pre-norm block's residual branches (attention output projection, second MLP layer)."""
    for layer in (block.attn.proj, block.mlp.fc2):
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)


def load_deepened(net: nn.Module, start: nn.Module) -> int:
    """Load the shallower trained ``start`` into ``net`` and make ``net``'s extra blocks identities.

    Args:
        net: the deeper model (teacher or student), freshly built.
        start: a trained model of the same kind whose config differs only by a smaller depth.

    Returns:
        The number of block pairs added.

    Raises:
        ValueError: when the configurations do not allow it (:func:`growable_depth`).
    """
    old, new = start.config.to_dict(), net.config.to_dict()  # type: ignore[operator]
    if not growable_depth(old, new):
        raise ValueError(f"cannot grow depth {old.get('depth')} into {new.get('depth')} with other options changed")
    missing, unexpected = net.load_state_dict(start.state_dict(), strict=False)
    if unexpected or any(not k.startswith(("encoder.spatial.", "encoder.temporal.")) for k in missing):
        raise ValueError(f"weights do not fit the deeper model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    encoder = net.encoder  # type: ignore[union-attr]
    depth = int(old["depth"])
    for blocks in (encoder.spatial, encoder.temporal):
        for block in list(blocks)[depth:]:
            identity_block(block)
    return int(new["depth"]) - depth


#: Config fields a student must share with the teacher it is initialised from (its token
#: width, block shape and window): the copied weights need the same shapes and meaning.
SHARED_WITH_TEACHER: tuple[str, ...] = ("num_joints", "in_dim", "dim", "heads", "mlp_ratio", "window")


def default_teacher_blocks(student_depth: int, teacher_depth: int) -> tuple[int, ...]:
    """Which teacher block pairs a ``student_depth``-deep student copies by default: the first
    and the last, and evenly spaced ones between (so the copied stack starts where the
    teacher's embedding leaves off and ends where its head reads).

    Raises:
        ValueError: when the student is deeper than the teacher.
    """
    if not 1 <= student_depth <= teacher_depth:
        raise ValueError(f"a student of depth {student_depth} cannot copy blocks of a teacher of depth {teacher_depth}")
    if student_depth == 1:
        return (teacher_depth - 1,)
    step = (teacher_depth - 1) / (student_depth - 1)
    return tuple(round(i * step) for i in range(student_depth))


def parse_teacher_blocks(text: str) -> tuple[int, ...] | None:
    """``"auto"`` -> None (:func:`default_teacher_blocks`), ``"0,3"`` -> ``(0, 3)``.

    Raises:
        ValueError: for anything else, with what to write instead.
    """
    if text.strip().lower() == "auto":
        return None
    try:
        blocks = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"teacher blocks must be 'auto' or block indices like '0,3', got {text!r}") from None
    if any(b < 0 for b in blocks) or list(blocks) != sorted(set(blocks)):
        raise ValueError(f"teacher blocks must be increasing indices >= 0 like '0,3', got {text!r}")
    return blocks


def load_from_teacher(student: nn.Module, teacher: nn.Module, blocks: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """Start a student from a trained teacher's weights (one block pair out of several, as DistilBERT
    starts its student from every other layer of BERT).

    The student has the teacher's token width, heads and window and fewer block pairs; it gets
    the teacher's joint embedding, joint and temporal positional embeddings, the block pairs
    ``blocks`` (in order), the final LayerNorm and the pose head. Its temporal embedding is
    indexed by window position, so the rows of the frames it reads are the teacher's own. The
    upsampling head keeps its fresh initialisation (no correction: the dense poses start as the
    interpolation of the sparse ones). With every block copied and ``K = T`` the student
    computes exactly the teacher's poses.

    Args:
        student: a freshly built :class:`~scjd_core.models.Student`.
        teacher: a trained :class:`~scjd_core.models.Teacher`.
        blocks: teacher block-pair indices, one per student block pair (None:
            :func:`default_teacher_blocks`).

    Returns:
        The block indices copied.

    Raises:
        ValueError: when the shapes do not allow it (naming the field) or ``blocks`` does not
            fit the two depths.
    """
    s_cfg, t_cfg = student.config.to_dict(), teacher.config.to_dict()  # type: ignore[operator]
    differ = [f"{k} {s_cfg[k]} vs the teacher's {t_cfg[k]}" for k in SHARED_WITH_TEACHER if s_cfg[k] != t_cfg[k]]
    if differ:
        raise ValueError(f"the student cannot start from this teacher: {'; '.join(differ)}")
    depth, t_depth = int(s_cfg["depth"]), int(t_cfg["depth"])
    chosen = default_teacher_blocks(depth, t_depth) if blocks is None else tuple(blocks)
    if len(chosen) != depth or any(not 0 <= b < t_depth for b in chosen):
        raise ValueError(
            f"teacher blocks {list(chosen)} do not fit: give {depth} indices in [0, {t_depth - 1}], "
            "one per student block"
        )
    source = teacher.state_dict()
    state = student.state_dict()
    for key in state:
        parts = key.split(".")
        if key.startswith(("encoder.spatial.", "encoder.temporal.")):
            state[key] = source[".".join([*parts[:2], str(chosen[int(parts[2])]), *parts[3:]])]
        elif key.startswith("encoder.") or key.startswith("head."):
            state[key] = source[key]
    student.load_state_dict(state)
    return chosen
