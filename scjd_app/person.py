"""Choosing the person to follow: the people found in a frame, offered as boxes to click."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from scjd_app.worker import Job
from scjd_core.detect.roi import Box
from scjd_core.inputs import TWO_D_KINDS, input_kind


class PersonChoice:
    """The *Person* menu's actions, mixed into the main window.

    Uses the window's ``worker``, ``cache``, ``video``, ``transport``, ``_source_factory``,
    ``open_input``, ``show_error``, ``_set_status`` and ``redraw``.
    """

    _choice_job: Job | None = None

    def choose_person(self) -> bool:
        """Offer the people in the first frame (for a webcam: the frame on screen) as boxes
        to click, or a box to drag; the choice re-processes the input following that person.

        Returns True when the choice is on screen (an error dialog says why otherwise).
        """
        from scjd_core.detect.people import find_people
        from scjd_core.errors import ScjdError

        job = self.worker.job if self.worker is not None else None
        if job is None:
            self.show_error("open a video, an image folder or a webcam first, then choose the person in it")
            return False
        if input_kind(job.source) in TWO_D_KINDS:
            self.show_error("a 2D/3D sequence file already holds one person's keypoints: there is nobody to choose")
            return False
        try:
            rgb, width, height = self._choice_frame(job)
        except ScjdError as exc:
            self.show_error(str(exc))
            return False
        if rgb is None:
            self.show_error("no frame to choose from yet: wait for the first frame to show")
            return False
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            scale = width / rgb.shape[1]
            people = find_people(np.ascontiguousarray(rgb[:, :, ::-1]))
        except ScjdError as exc:
            self.show_error(f"cannot look for people: {exc}")
            people = []
        finally:
            QApplication.restoreOverrideCursor()
        boxes = [Box(p.box.x * scale, p.box.y * scale, p.box.w * scale, p.box.h * scale) for p in people]
        self.transport.set_playing(False)
        self._choice_job = job
        self.video.begin_choice(rgb, width, height, boxes)
        found = f"{len(boxes)} {'person' if len(boxes) == 1 else 'people'} found" if boxes else "nobody found"
        self._set_status(f"choose the person ({found}): click a box, or drag one around them; Esc cancels")
        return True

    def _choice_frame(self, job: Job) -> tuple[np.ndarray | None, int, int]:
        """``(rgb, width, height)``: the frame to choose on (a webcam's newest, else the clip's first)."""
        if input_kind(job.source) == "webcam":
            newest = self.cache.newest
            return (None, 0, 0) if newest is None else (newest.image_rgb(), newest.width, newest.height)
        with self._source_factory(replace(job, live=False)) as source:
            for frame in source:
                return np.ascontiguousarray(frame.image[:, :, ::-1]), source.info.width, source.info.height
        return None, 0, 0

    def _on_person_chosen(self, box: Box) -> None:
        """Re-process the input following the person in ``box``."""
        job = self._choice_job
        self.video.end_choice()
        if job is None:
            return
        self._choice_job = None
        self.open_input(job.source, live=job.live, roi=(box.x, box.y, box.w, box.h))

    def cancel_choice(self) -> None:
        """Leave the person choice without changing anything."""
        if self.video.choosing:
            self.video.end_choice()
            self._choice_job = None
            self._set_status("")
            self.redraw()

    def follow_anyone(self) -> None:
        """Forget the chosen person: re-process with MediaPipe following whoever it finds."""
        self.cancel_choice()
        if self.worker is not None and self.worker.job.roi is not None:
            self.open_input(self.worker.job.source, live=self.worker.job.live)
