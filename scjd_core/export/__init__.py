"""Exporters: BVH (animation), CSV (table), JSON / NPZ (everything about a clip).

Every writer goes through :func:`scjd_core.atomic.atomic_write`: a temporary file
renamed onto the target only when complete (a failure leaves no partial file), and
an existing file is an error unless ``overwrite=True``. Inside
:class:`scjd_core.atomic.OutputSet` (as :func:`scjd_core.outputs.export_clip` writes a
clip) the renames wait until every file of the set is complete.
"""

from __future__ import annotations

from scjd_core.errors import OutputError
from scjd_core.export.bundle import read_bundle, write_bundle
from scjd_core.export.bvh_writer import write_bvh
from scjd_core.export.csv_io import read_csv, write_csv

#: Every export format, as named on the command line.
EXPORT_FORMATS: tuple[str, ...] = ("bvh", "csv", "json", "npz")

__all__ = [
    "EXPORT_FORMATS",
    "parse_formats",
    "read_bundle",
    "read_csv",
    "write_bundle",
    "write_bvh",
    "write_csv",
]


def parse_formats(spec: str) -> list[str]:
    """Parse a comma-separated format list such as ``"bvh,csv"``.

    Case and spaces are ignored, duplicates dropped (first occurrence kept).

    Raises:
        OutputError: naming an unknown format and listing the valid ones, or when the
            list is empty.
    """
    valid = ", ".join(EXPORT_FORMATS)
    formats: list[str] = []
    for item in spec.split(","):
        name = item.strip().lower().lstrip(".")
        if not name:
            continue
        if name not in EXPORT_FORMATS:
            raise OutputError(f"unknown export format {item.strip()!r}: choose from {valid}")
        if name not in formats:
            formats.append(name)
    if not formats:
        raise OutputError(f"no export format given: choose one or more of {valid} (comma-separated)")
    return formats
