"""ASF/AMC reader and forward kinematics (hand-written fixtures under tests/data/mocap).

The fixtures have CRLF line ends and a Latin-1 byte in their header, like HDM05's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scjd_core.errors import InputError
from scjd_core.mocap import asf_amc_points, find_asf, load_mocap, read_amc, read_asf

DATA = Path(__file__).resolve().parents[1] / "data" / "mocap"
#: ``:units length 0.45``: a file length v is v / 0.45 inches.
UNIT = 0.0254 / 0.45


def test_fixture_has_crlf_and_latin1_byte():
    raw = (DATA / "chain.amc").read_bytes()
    assert b"\r\n" in raw
    assert b"\xfc" in raw


def test_read_asf_parses_units_axes_dofs_and_hierarchy():
    asf = read_asf(DATA / "chain.asf")
    assert asf.length_unit == 0.45
    assert asf.metres_per_unit == pytest.approx(UNIT)
    assert asf.degrees
    assert asf.root_order == ["TX", "TY", "TZ", "RX", "RY", "RZ"]
    assert asf.order == ["upper", "lower"]
    upper, lower = asf.bones["upper"], asf.bones["lower"]
    np.testing.assert_allclose(upper.axis, (0, 0, 90))
    assert upper.axis_order == "XYZ"
    assert (upper.dof, lower.dof) == (["rx", "ry", "rz"], ["rx"])
    assert (upper.parent, lower.parent) == ("root", "upper")


def test_chain_fk_matches_hand_computed_positions():
    """chain.asf: ``upper`` (direction +X, length 10, axis C = Rz(90)) -> ``lower`` (-Y, 5).

    ``W = W_parent @ C @ M @ C^-1``; ``Ry(90): (x,y,z) -> (z,y,-x)``,
    ``Rx(90): (x,y,z) -> (x,-z,y)``, ``Rz(90): (x,y,z) -> (-y,x,z)``. Values in file
    units, multiplied by 0.0254 / 0.45 for metres.
    """
    asf = read_asf(DATA / "chain.asf")
    amc = read_amc(DATA / "chain.amc", asf)
    assert amc.num_frames == 4
    assert amc.fps == 120.0
    pts = asf_amc_points(asf, amc)
    upper_end = [
        (10, 0, 0),  # rest
        # root at (1,2,3) turned Ry(90); upper rx=90 about its local x = C @ x = world +Y,
        # so upper turns another Ry(90): W = Ry(180), end = (1,2,3) + (-10,0,0)
        (-9, 2, 3),
        (0, 10, 0),  # upper rz=90 about its local z = world z: Rz(90) @ (10,0,0)
        (0, 10, 0),  # root RX=90, RZ=90 -> Rz(90) @ Rx(90) @ (10,0,0) = Rz(90) @ (10,0,0)
    ]
    lower_end = [
        (10, -5, 0),
        (-9, -3, 3),  # Ry(180) keeps (0,-5,0)
        (0, 10, -5),  # Rz(90) @ Rx(90) @ (0,-5,0) = Rz(90) @ (0,0,-5)
        (0, 10, -5),  # root Rz(90) @ Rx(90), same as above
    ]
    np.testing.assert_allclose(pts["root"], np.array([(0, 0, 0), (1, 2, 3), (0, 0, 0), (0, 0, 0)]) * UNIT)
    np.testing.assert_allclose(pts["upper"], pts["root"])
    np.testing.assert_allclose(pts["upper.end"], np.array(upper_end) * UNIT, atol=1e-12)
    np.testing.assert_allclose(pts["lower"], pts["upper.end"])
    np.testing.assert_allclose(pts["lower.end"], np.array(lower_end) * UNIT, atol=1e-12)


def test_local_axis_is_applied_by_conjugation():
    """Without ``C @ M @ C^-1`` (plain ``W = Ry(90) @ Rx(90)``) frame 2 would end at (1,2,3)+(0,0,-10)."""
    asf = read_asf(DATA / "chain.asf")
    pts = asf_amc_points(asf, read_amc(DATA / "chain.amc", asf))
    assert not np.allclose(pts["upper.end"][1], np.array((1, 2, -7)) * UNIT)


def test_load_mocap_amc_names_fps_and_asf_lookup():
    path = DATA / "HDM_tt_turn_001_120.amc"
    assert find_asf(path) == DATA / "HDM_tt.asf"
    clip = load_mocap(path)
    assert (clip.name, clip.subject, clip.action, clip.fps) == ("HDM_tt_turn_001_120", "tt", "turn", 120.0)
    # the first AMC frame is motion (root turned 10 degrees), not a reference frame: kept
    assert clip.joints.shape == (3, 17, 3)
    same = load_mocap(path, asf=read_asf(DATA / "HDM_tt.asf"))
    np.testing.assert_array_equal(same.joints, clip.joints)


def test_read_amc_fps_override():
    asf = read_asf(DATA / "chain.asf")
    assert read_amc(DATA / "chain.amc", asf, fps=60).fps == 60.0


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    return path


def _amc_text() -> str:
    return (DATA / "chain.amc").read_bytes().decode("latin-1")


def test_truncated_amc_raises_input_error_naming_file_and_frame(tmp_path):
    asf = read_asf(DATA / "chain.asf")
    text = _amc_text()
    cut = _write(tmp_path, "cut.amc", text[: text.rindex("lower")])  # last frame lacks 'lower'
    with pytest.raises(InputError, match=r"cut\.amc:\d+: frame lacks lower") as exc:
        read_amc(cut, asf)
    assert str(cut) in str(exc.value)


def test_malformed_amc_lines_raise_input_error(tmp_path):
    asf = read_asf(DATA / "chain.asf")
    text = _amc_text()
    cases = {
        "count.amc": (text.replace("upper 90 0 0", "upper 90 0"), r"count\.amc:\d+: 'upper' has 2 values"),
        "nan.amc": (text.replace("upper 90 0 0", "upper 90 zero 0"), r"non-numeric value for 'upper'"),
        "bone.amc": (text.replace("lower 90", "elbow 90"), r"bone 'elbow' is not in the skeleton"),
        "order.amc": (text.replace("\r\n3\r\n", "\r\n7\r\n"), r"frame 7 where 3 was expected"),
        "empty.amc": (":FULLY-SPECIFIED\r\n", "no frames"),
    }
    for name, (bad, pattern) in cases.items():
        with pytest.raises(InputError, match=pattern):
            read_amc(_write(tmp_path, name, bad), asf)


def test_malformed_asf_raises_input_error(tmp_path):
    text = (DATA / "chain.asf").read_bytes().decode("latin-1")
    with pytest.raises(InputError, match="no :bonedata or no :hierarchy"):
        read_asf(_write(tmp_path, "a.asf", text[: text.index(":hierarchy")]))
    with pytest.raises(InputError, match="file ends inside a bone"):
        read_asf(_write(tmp_path, "b.asf", text[: text.index("id 2")]))
    with pytest.raises(InputError, match=r"c\.asf:\d+: bad direction"):
        read_asf(_write(tmp_path, "c.asf", text.replace("direction 1 0 0", "direction 1 0 x")))
    with pytest.raises(InputError, match="unsupported dof tx"):
        read_asf(_write(tmp_path, "d.asf", text.replace("dof rx\r\n", "dof tx\r\n")))
    with pytest.raises(InputError, match="unknown bone 'elbow'"):
        read_asf(_write(tmp_path, "e.asf", text.replace("upper lower", "upper elbow")))
    with pytest.raises(InputError, match="cannot read ASF"):
        read_asf(tmp_path / "missing.asf")


def test_amc_without_skeleton_raises_input_error(tmp_path):
    amc = _write(tmp_path, "lonely_01.amc", _amc_text())
    with pytest.raises(InputError, match="no ASF skeleton found.*pass asf="):
        load_mocap(amc)
    with pytest.raises(InputError, match="unsupported mocap format"):
        load_mocap(_write(tmp_path, "x.c3d", ""))
