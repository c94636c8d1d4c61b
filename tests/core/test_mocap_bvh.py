"""BVH reader and forward kinematics (hand-written fixtures under tests/data/mocap)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scjd_core.errors import InputError
from scjd_core.mocap import bvh_points, load_mocap, read_bvh
from scjd_core.skeleton import JOINT_INDEX, MOCAP_JOINT_MAP

DATA = Path(__file__).resolve().parents[1] / "data" / "mocap"


def test_chain_fk_matches_hand_computed_positions():
    """chain.bvh: root ``hips`` (6 channels) -> ``knee`` (offset 0,-1,0) -> End Site (0,0,1).

    Rotation matrices used below (column vectors, angles in degrees):
    ``Ry(90): (x,y,z) -> (z, y, -x)``, ``Rx(90): (x,y,z) -> (x, -z, y)``,
    ``Rz(90): (x,y,z) -> (-y, x, z)``. Channels ``Zrotation Xrotation Yrotation`` mean
    ``R = Rz @ Rx @ Ry``.
    """
    motion = read_bvh(DATA / "chain.bvh")
    assert [n.name for n in motion.nodes] == ["hips", "knee"]
    assert motion.num_frames == 4
    assert motion.fps == 30.0
    pts = bvh_points(motion)
    expected_knee = [
        (0, -1, 0),  # rest
        (1, 1, 3),  # translated to (1,2,3), Ry(90) keeps (0,-1,0)
        (0, 0, -1),  # Rz(90) @ Rx(90) @ (0,-1,0) = Rz(90) @ (0,0,-1)
        (0, -1, 0),  # only the knee rotates: its own position does not move
    ]
    expected_end = [
        (0, -1, 1),
        (2, 1, 3),  # knee + Ry(90) @ (0,0,1) = knee + (1,0,0)
        (1, 0, -1),  # knee + Rz(90) @ Rx(90) @ (0,0,1) = knee + Rz(90) @ (0,-1,0) = knee + (1,0,0)
        (0, -2, 0),  # knee + Rx(90) @ (0,0,1) = knee + (0,-1,0)
    ]
    np.testing.assert_allclose(pts["hips"], [(0, 0, 0), (1, 2, 3), (0, 0, 0), (0, 0, 0)], atol=1e-9)
    np.testing.assert_allclose(pts["knee"], expected_knee, atol=1e-9)
    np.testing.assert_allclose(pts["knee.end"], expected_end, atol=1e-9)
    # a node with one child ends where that child starts
    np.testing.assert_allclose(pts["hips.end"], pts["knee"])


def test_euler_order_is_not_reversed():
    """Frame 2 of chain.bvh would put the knee at (1,0,0) if the order were Ry @ Rx @ Rz."""
    pts = bvh_points(read_bvh(DATA / "chain.bvh"))
    assert not np.allclose(pts["knee"][2], (1, 0, 0))


def test_scale_multiplies_every_length():
    motion = read_bvh(DATA / "chain.bvh")
    np.testing.assert_allclose(bvh_points(motion, scale=0.01)["knee.end"], bvh_points(motion)["knee.end"] * 0.01)


def test_load_mocap_bvh_gives_17_joints_and_drops_tpose():
    clip = load_mocap(DATA / "mini17.bvh")
    assert clip.joints.shape == (2, 17, 3)
    assert clip.joints.dtype == np.float32
    assert (clip.name, clip.subject, clip.action, clip.fps) == ("mini17", "cmu", "mini17", 120.0)
    assert clip.duration_s == pytest.approx(2 / 120)
    with_tpose = load_mocap(DATA / "mini17.bvh", skip_tpose=False)
    assert len(with_tpose) == 3
    np.testing.assert_allclose(with_tpose.joints[1:], clip.joints)
    # T-pose frame, positions worked out from the OFFSETs in mini17.bvh (root at y = 0.97)
    rest = {
        "lfemur": (0.1, 0.92, 0),
        "rfemur": (-0.1, 0.92, 0),
        "ltibia": (0.1, 0.50, 0),
        "rtibia": (-0.1, 0.50, 0),
        "lfoot": (0.1, 0.08, 0),
        "rfoot": (-0.1, 0.08, 0),
        "head": (0, 1.62, 0),
        "head.end": (0, 1.82, 0),
        "lhumerus": (0.18, 1.47, 0),
        "rhumerus": (-0.18, 1.47, 0),
        "lradius": (0.46, 1.47, 0),
        "rradius": (-0.46, 1.47, 0),
        "lwrist": (0.71, 1.47, 0),
        "rwrist": (-0.71, 1.47, 0),
    }
    for joint, weights in MOCAP_JOINT_MAP.items():
        want = sum(w * np.asarray(rest[p], dtype=float) for p, w in weights.items())
        np.testing.assert_allclose(with_tpose.joints[0, JOINT_INDEX[joint]], want, atol=1e-6, err_msg=joint)


def test_centimetre_bvh_is_scaled_to_metres(tmp_path):
    text = (DATA / "mini17.bvh").read_text()
    lines = text.splitlines()
    out = []
    for line in lines:
        s = line.strip()
        if s.startswith("OFFSET"):
            vals = [float(v) * 100 for v in s.split()[1:]]
            line = line[: line.index("OFFSET")] + "OFFSET " + " ".join(f"{v:g}" for v in vals)
        out.append(line)
    motion_at = out.index("MOTION")
    for i in range(motion_at + 3, len(out)):
        vals = out[i].split()
        vals[:3] = [f"{float(v) * 100:g}" for v in vals[:3]]
        out[i] = " ".join(vals)
    path = tmp_path / "cm.bvh"
    path.write_text("\n".join(out) + "\n")
    np.testing.assert_allclose(load_mocap(path).joints, load_mocap(DATA / "mini17.bvh").joints, atol=1e-5)


def _broken(tmp_path: Path, text: str, name: str = "broken.bvh") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_truncated_motion_raises_input_error_naming_file(tmp_path):
    text = (DATA / "mini17.bvh").read_text()
    path = _broken(tmp_path, text[:-20])  # the last frame line is cut short
    last_line = len(text.splitlines())
    with pytest.raises(InputError, match=rf"broken\.bvh:{last_line}: \d+ values where 63 channels") as exc:
        read_bvh(path)
    assert str(path) in str(exc.value)


def test_missing_frames_raise_input_error(tmp_path):
    text = (DATA / "mini17.bvh").read_text().replace("Frames: 3", "Frames: 5")
    with pytest.raises(InputError, match="truncated: 3 of 5 frames"):
        read_bvh(_broken(tmp_path, text))


def test_hierarchy_errors_name_the_line(tmp_path):
    text = (DATA / "chain.bvh").read_text()
    with pytest.raises(InputError, match=r"broken\.bvh:5: unknown channel"):
        read_bvh(_broken(tmp_path, text.replace("Xposition", "Wposition")))
    with pytest.raises(InputError, match=r"broken\.bvh:4: bad OFFSET"):
        read_bvh(_broken(tmp_path, text.replace("OFFSET 0.0 0.0 0.0", "OFFSET 0.0 zero 0.0", 1)))
    with pytest.raises(InputError, match="no MOTION section"):
        read_bvh(_broken(tmp_path, text[: text.index("MOTION")]))
    with pytest.raises(InputError, match="file ends inside the hierarchy"):
        read_bvh(_broken(tmp_path, text[: text.index("End Site")] + "MOTION\n"))
    with pytest.raises(InputError, match="not a BVH file"):
        read_bvh(_broken(tmp_path, "hello\n"))
    with pytest.raises(InputError, match="non-numeric"):
        read_bvh(_broken(tmp_path, text.replace("1 2 3 0 0 90", "1 2 x 0 0 90")))


def test_missing_file_and_missing_joints_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_bvh(tmp_path / "nope.bvh")
    with pytest.raises(InputError, match="lacks the point"):
        load_mocap(DATA / "chain.bvh")
