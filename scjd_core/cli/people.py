"""``scjd people``: the people in one frame, with the boxes ``scjd process --roi`` takes."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from scjd_core.errors import DetectorError, InputError, ScjdError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``scjd people`` to the sub-commands."""
    p = sub.add_parser(
        "people",
        help="list the people in a frame with their boxes, for `scjd process --roi`",
        description="Find the people in one frame of a video or image folder and print each one's box, "
        "ready for `scjd process INPUT --roi X,Y,W,H`.",
    )
    p.add_argument("input", metavar="INPUT", help="video file or image folder")
    p.add_argument("--frame", type=int, default=0, metavar="N", help="the frame to look at (default: 0, the first)")
    p.add_argument("--max-people", type=int, default=6, metavar="N", help="stop after N people (default: 6)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Find and print the people; returns the exit code."""
    from scjd_core.detect.people import find_people
    from scjd_core.errors import NoPersonError

    if args.frame < 0:
        raise InputError(f"--frame must be 0 or more (got {args.frame}): frames count from 0")
    if args.max_people < 1:
        raise InputError(f"--max-people must be 1 or more (got {args.max_people})")
    image = _frame(args.input, args.frame)
    with _detector_errors():
        people = find_people(image, max_people=args.max_people)
    if not people:
        raise NoPersonError(
            f"no person was found in frame {args.frame} of {args.input}: try another --frame, or draw the box "
            "by hand (--roi X,Y,W,H)"
        )
    if args.json:
        import json

        rows = [
            {"roi": p.box.text(), "box": [round(float(v), 1) for v in p.box.as_array()], "score": p.score}
            for p in people
        ]
        print(json.dumps({"input": str(args.input), "frame": args.frame, "people": rows}, indent=2))
        return 0
    print(f"{len(people)} {'person' if len(people) == 1 else 'people'} in frame {args.frame} (left to right):")
    for k, person in enumerate(people, 1):
        print(f"  {k}. --roi {person.box.text():<20} visibility {person.score:.2f}")
    return 0


def _frame(spec: str, index: int):
    """Image ``index`` of a video or image folder.

    Raises:
        InputError: a webcam, a file without images, or a clip with fewer frames.
    """
    from scjd_core.inputs import IMAGE_KINDS, input_kind
    from scjd_core.sources import open_source

    kind = input_kind(spec)
    if kind == "webcam" or str(spec).lower().startswith("webcam"):
        raise InputError(
            "scjd people reads a video file or an image folder; for a webcam, choose the person in the viewer"
        )
    if kind not in IMAGE_KINDS:
        raise InputError(f"{spec} holds one person's 2D already, not images: there is nobody to choose")
    with open_source(spec) as source:
        for frame in source:
            if frame.index >= index:
                return frame.image
        count = source.info.frame_count
    raise InputError(f"{spec} has no frame {index} (it has {count} frames): choose an earlier --frame")


@contextlib.contextmanager
def _detector_errors() -> Iterator[None]:
    """A detector that cannot start becomes one clear error (as in ``scjd process``)."""
    try:
        yield
    except ScjdError:
        raise
    except (RuntimeError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DetectorError(
            f"the 2D detector (MediaPipe Pose) failed ({reason}): reinstall it with "
            "`pip install --force-reinstall mediapipe==0.10.21`"
        ) from None
