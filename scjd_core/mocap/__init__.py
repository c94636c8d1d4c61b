"""Motion-capture readers (CMU BVH, HDM05/CMU ASF/AMC) -> the 17 joints.

Example:
    >>> from scjd_core.mocap import load_mocap, glitch_mask
    >>> clip = load_mocap("walking_1.bvh", fps=30)        # doctest: +SKIP
    >>> bad = glitch_mask(clip.joints, clip.fps)         # doctest: +SKIP

Both formats go through forward kinematics to named points (``"<bone>"`` = where a
bone starts, ``"<bone>.end"`` = where it ends), then
:func:`scjd_core.skeleton.mocap_to_joints`. Positions are world metres, Y up as in the
files (CMU and HDM05: Y up, subject facing +Z at rest, left side on +X).
"""

from scjd_core.mocap.asf_amc import AmcMotion, AsfBone, AsfSkeleton, asf_amc_points, read_amc, read_asf
from scjd_core.mocap.bvh import BvhMotion, BvhNode, bvh_points, read_bvh
from scjd_core.mocap.clip import (
    MOCAP_SUFFIXES,
    MocapClip,
    MocapPoints,
    clip_names,
    find_asf,
    find_mocap_files,
    is_reference_frame,
    load_mocap,
    load_points,
    resample,
    resampled_length,
)
from scjd_core.mocap.glitch import glitch_mask

__all__ = [
    "MOCAP_SUFFIXES",
    "AmcMotion",
    "AsfBone",
    "AsfSkeleton",
    "BvhMotion",
    "BvhNode",
    "MocapClip",
    "MocapPoints",
    "asf_amc_points",
    "bvh_points",
    "clip_names",
    "find_asf",
    "find_mocap_files",
    "glitch_mask",
    "is_reference_frame",
    "load_mocap",
    "load_points",
    "read_amc",
    "read_asf",
    "read_bvh",
    "resample",
    "resampled_length",
]
