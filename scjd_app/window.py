"""The main window: layout, the worker's life cycle, playback and drawing."""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from scjd_app import menus
from scjd_app.cache import ResultCache
from scjd_app.person import PersonChoice
from scjd_app.widgets.attention import AttentionPanel
from scjd_app.widgets.errors import ErrorPanel
from scjd_app.widgets.legend import ViewLegend
from scjd_app.widgets.palette import auto_error_scale
from scjd_app.widgets.skeleton3d import Skeleton3DPanel, frame_views, link_cameras
from scjd_app.widgets.transport import Transport
from scjd_app.widgets.video import VideoPanel
from scjd_app.worker import Job, PipelineWorker, ViewFrame, default_pipeline, default_source
from scjd_core.compare import ground_truth_key
from scjd_core.inputs import TWO_D_KINDS, Input, input_kind
from scjd_core.skeleton import ROOT

#: Display refresh interval (ms): the GUI draws from a timer at about 60 Hz.
DRAW_INTERVAL_MS = 16
#: A timer tick later than this (s) means painting fell behind: that tick draws nothing.
BEHIND_S = 2.0 * DRAW_INTERVAL_MS / 1000.0
#: Pipeline stages whose speed the status bar shows.
STAGES = ("detect", "teacher", "student")
#: Frames kept in live mode (for the error curve); clip mode keeps every frame.
LIVE_CAPACITY = 600
#: Frames of the root's path drawn behind the skeleton in the 3D views (a fading trace).
TRACE_FRAMES = 90


#: While playing (or live), the slow panels (per-joint error, time cursor, attention) are
#: redrawn at most this often; the video and the 3D views draw every frame.
SLOW_PANEL_INTERVAL_S = 0.1


def _auto_scale(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> float:
    """The automatic error colour scale of the per-frame mean error curves so far."""
    values = [v for _idx, v in curves.values()]
    return auto_error_scale(np.concatenate(values) if values else np.zeros(0))


class MainWindow(PersonChoice, QMainWindow):
    """The SCJD viewer's window.

    Args:
        defaults: the job template (backends, device, checkpoints); ``source``/``live``
            are filled in by :meth:`open_input`.
        pipeline_factory: builds the core pipeline for a job (tests may pass a cheaper one).
        source_factory: opens a job's frame source.
    """

    def __init__(
        self,
        defaults: Job | None = None,
        pipeline_factory: Callable[[Job], object] = default_pipeline,
        source_factory: Callable[[Job], object] = default_source,
    ) -> None:
        super().__init__()
        self.setWindowTitle("SCJD viewer")
        self.defaults = defaults or Job(source="")
        self.smoothing = False
        self._pipeline_factory = pipeline_factory
        self._source_factory = source_factory
        self._pipelines: dict[tuple, object] = {}
        self.worker: PipelineWorker | None = None
        self._stopping: list[PipelineWorker] = []
        self.cache = ResultCache()
        #: backend -> world-frame poses (F, 17, 3) of the processed clip (root trajectory and
        #: ground contact); empty while processing, for live input and for cancelled runs.
        self.world: dict[str, np.ndarray] = {}
        self.position = 0
        self._play_pos = 0.0
        self._last_tick = time.perf_counter()
        self._drawn: ViewFrame | None = None
        self._dirty = False
        self._draw_times: deque[float] = deque(maxlen=60)
        self.latencies_ms: deque[float] = deque(maxlen=120)
        self.error_scale_choice: float | None = None  # None: automatic
        self._slow_drawn_at = 0.0
        self._snap_views = True
        self.status_text = ""
        self._build_ui()
        self._build_shortcuts()
        menus.build_menus(self)
        self.timer = QTimer(self)
        self.timer.setInterval(DRAW_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    # ------------------------------------------------------------------------ layout
    def _build_ui(self) -> None:
        self.video = VideoPanel()
        self.video.personChosen.connect(self._on_person_chosen)
        self._choice_job: Job | None = None
        legend = "joint colours: the per-joint distance between the models (or to the ground truth)"
        self.teacher_view = Skeleton3DPanel("teacher", "teacher 3D")
        self.student_view = Skeleton3DPanel("student", "student 3D")
        for panel in (self.teacher_view, self.student_view):
            panel.title.setToolTip(legend)
        self.view_legend = ViewLegend()
        self.view_legend.setToolTip(legend)
        link_cameras(self.teacher_view.view, self.student_view.view)
        top = QSplitter(Qt.Orientation.Horizontal)
        for w in (self.video, self.teacher_view, self.student_view):
            top.addWidget(w)
        top.setSizes([420, 400, 400])
        self.errors = ErrorPanel()
        self.attention = AttentionPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.errors, "Per-joint error")
        self.tabs.addTab(self.attention, "Attention")
        self.tabs.currentChanged.connect(lambda _i: self.redraw())
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.setSpacing(0)
        upper_layout.addWidget(top, 1)
        upper_layout.addWidget(self.view_legend)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(self.tabs)
        split.setSizes([350, 370])
        self.transport = Transport()
        self.transport.seek.connect(self.seek)
        self.transport.step.connect(self.step)
        self.transport.playToggled.connect(self._on_play)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(split, 1)
        layout.addWidget(self.transport)
        self.setCentralWidget(central)
        self.stats = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("%v / %m frames")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_processing)
        bar = self.statusBar()
        bar.addWidget(self.stats, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        self._show_processing(False)

    def _build_shortcuts(self) -> None:
        keys = (
            ("play/pause", Qt.Key.Key_Space, lambda: self.transport.set_playing(not self.transport.playing)),
            ("previous frame", Qt.Key.Key_Left, lambda: self.step(-1)),
            ("next frame", Qt.Key.Key_Right, lambda: self.step(1)),
            ("first frame", Qt.Key.Key_Home, lambda: self.seek(0)),
            ("last frame", Qt.Key.Key_End, lambda: self.seek(self.last_index())),
            ("cancel the person choice", Qt.Key.Key_Escape, self.cancel_choice),
        )
        for text, key, slot in keys:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    def _show_processing(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.cancel_button.setVisible(on)

    # ------------------------------------------------------------------------ jobs
    def show_error(self, message: str) -> None:
        """Tell the user about a problem (the window stays usable)."""
        QMessageBox.critical(self, "SCJD viewer", message)

    def open_input(self, spec: str, live: bool = False, roi: tuple[float, float, float, float] | None = None) -> bool:
        """Open a video, image folder, sequence file or ``webcam:N`` and start processing it.

        The input is opened first (by the core, :func:`scjd_core.inputs.open_input`): when
        that fails an error dialog says why and the current clip stays loaded. With
        ``roi`` (pixels ``x, y, w, h`` on the first frame) the person inside it is
        followed. Returns True when processing started.
        """
        from scjd_core.errors import ScjdError

        job = replace(self.defaults, source=spec, live=live, roi=roi)
        try:
            source = self._source_factory(job)
        except ScjdError as exc:
            self.show_error(str(exc))
            return False
        if isinstance(source, Input) and source.roi is not None:  # the box as cut to the image
            job = replace(job, roi=(source.roi.x, source.roi.y, source.roi.w, source.roi.h))
        self.start_job(job, source)
        return True

    def _pipeline_for(self, job: Job):
        """The loaded models of ``job``, kept while they stay the same (the input brings its
        own detector and extra streams, see :meth:`scjd_core.inputs.Input.pipeline`)."""
        key = (job.backends, job.device, job.engine, job.checkpoints, job.options)
        if key not in self._pipelines:
            self._pipelines.clear()
            self._pipelines[key] = self._pipeline_factory(job)
        return self._pipelines[key]

    def start_job(self, job: Job, source) -> None:
        """Stop the current run, forget its frames and process ``source``."""
        self.stop_worker()
        self.cache = ResultCache(LIVE_CAPACITY if job.live else None)
        self.world = {}
        self.position, self._play_pos, self._drawn = 0, 0.0, None
        self.latencies_ms.clear()
        self._snap_views = True  # frame the first skeletons at once
        worker = PipelineWorker(job, source, self._pipeline_for)
        self.worker = worker
        info = worker.info
        self.setWindowTitle(f"SCJD viewer — {info.name}")
        total = info.frame_count or 0
        self.transport.set_length(total)
        self.transport.slider.setEnabled(not job.live)
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self._show_processing(not job.live)
        worker.ready.connect(self._drain)
        worker.failed.connect(self.show_error)
        worker.status.connect(self._set_status)
        worker.done.connect(self._on_done)
        worker.start()
        self.transport.set_playing(True)

    def stop_worker(self) -> None:
        """Cancel the current run and wait until its thread has ended."""
        worker, self.worker = self.worker, None
        if worker is None:
            return
        for signal in (worker.ready, worker.failed, worker.status, worker.done):
            signal.disconnect()
        if not worker.stop():  # still inside a long model call: keep it alive until it ends
            self._stopping.append(worker)
            worker.finished.connect(lambda w=worker: self._stopping.remove(w))

    def cancel_processing(self) -> None:
        """Stop processing; the frames done so far stay available."""
        if self.worker is not None:
            self.worker.cancel()

    @property
    def drawn(self) -> ViewFrame | None:
        """The frame on screen now."""
        return self._drawn

    @property
    def processing(self) -> bool:
        """Whether a worker is running or has results the GUI has not taken yet."""
        return self.worker is not None and (self.worker.isRunning() or len(self.worker.mailbox) > 0)

    def _drain(self) -> None:
        worker = self.worker
        if worker is None:
            return
        for frame in worker.mailbox.drain():
            self.cache.add(frame)
        self.progress.setValue(self.cache.contiguous())
        curves = self.cache.mean_error_curves()
        self.errors.set_curves(curves)
        if self.error_scale_choice is None:
            self._set_error_scale(_auto_scale(curves))
        self._dirty = True
        newest = self.cache.newest
        if worker.job.live and newest is not None and newest is not self._drawn:  # now, not at the next tick
            self.position = newest.index
            self._draw(newest)

    def _set_error_scale(self, scale_mm: float) -> None:
        """The joint error (mm) drawn full red in the 3D views, the bars and the legend."""
        for panel in (self.teacher_view, self.student_view):
            panel.scale_mm = scale_mm
        self.errors.set_scale(scale_mm)
        self.view_legend.bar.set_scale(scale_mm, auto=self.error_scale_choice is None)

    def choose_error_scale(self, scale_mm: float | None) -> None:
        """Fix the error colour scale (mm at full red), or None: automatic (the clip's 90th
        percentile of the per-frame mean error, rounded up)."""
        self.error_scale_choice = scale_mm
        if scale_mm is None:
            scale_mm = _auto_scale(self.cache.mean_error_curves())
        self._set_error_scale(scale_mm)
        self.redraw()

    def frame_skeletons(self) -> None:
        """Fit the 3D views to the skeletons again (after the user zoomed)."""
        for panel in (self.teacher_view, self.student_view):
            panel.view.auto_fit = True
        frame_views([self.teacher_view, self.student_view], snap=True)

    def _on_done(self, cancelled: bool) -> None:
        self._drain()
        self._show_processing(False)
        if self.worker is not None and not self.worker.job.live:
            n = len(self.cache)
            self.transport.set_length(n)
            self._set_status(f"{'cancelled' if cancelled else 'processed'}: {n} frames")
            if not cancelled:
                self._compute_world()
                self._dirty = True

    def _compute_world(self) -> None:
        """World-frame poses of the 3D panels' backends for the whole processed clip."""
        from scjd_core.outputs import world_poses
        from scjd_core.pipeline import collect_results

        worker = self.worker
        results = [f.result for f in self.cache.frames()]
        names = [b.name for b in worker.backends if b.name in ("teacher", "student")]
        if not results or any(r.index != i for i, r in enumerate(results)):
            return
        if any(name not in r.poses for r in results for name in names):
            return
        try:
            clip = collect_results(results, worker.info, [b for b in worker.backends if b.name in names], 0.0)
            self.world = {name: world_poses(clip, name) for name in names}
        except (ValueError, np.linalg.LinAlgError):  # a clip the trajectory cannot handle: root-relative view
            self.world = {}

    def _world_at(self, name: str, index: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The world pose of ``name`` at frame ``index`` and the root's trace up to it."""
        poses = self.world.get(name)
        if poses is None or not 0 <= index < len(poses):
            return None, None
        return poses[index], poses[max(0, index - TRACE_FRAMES) : index + 1, ROOT]

    # ------------------------------------------------------------------------ playback
    def last_index(self) -> int:
        """The last frame that can be shown now."""
        return max(self.cache.contiguous() - 1, 0)

    def _on_play(self, on: bool) -> None:
        self._last_tick = time.perf_counter()
        self._play_pos = float(self.position)

    def seek(self, index: int) -> None:
        """Show frame ``index`` (clamped to the processed frames)."""
        self.position = max(0, min(int(index), self.last_index()))
        self._play_pos = float(self.position)
        self.redraw()

    def step(self, delta: int) -> None:
        """Pause and move by ``delta`` frames."""
        self.transport.set_playing(False)
        self.seek(self.position + delta)

    def _tick(self) -> None:
        now = time.perf_counter()
        dt, self._last_tick = now - self._last_tick, now
        live = self.worker is not None and self.worker.job.live
        if live:
            newest = self.cache.newest
            if newest is not None and newest is not self._drawn:
                self.position = newest.index
                self._draw(newest)
            return
        if self.transport.playing and len(self.cache):
            fps = self.worker.info.fps if self.worker else 30.0
            self._play_pos += dt * fps * self.transport.rate
            limit = self.cache.contiguous() - 1
            if self._play_pos > limit + 0.999:
                finished = not self.processing
                if finished and self.transport.loop.isChecked():
                    self._play_pos = 0.0
                else:  # wait for the worker at the edge, or stop at the end
                    self._play_pos = float(limit)
                    if finished:
                        self.position = limit
                        self.transport.set_playing(False)
            self.position = int(self._play_pos)
        if dt > BEHIND_S:  # the last paint was slow: give the event loop this tick
            return
        frame = self.cache.nearest(self.position)
        if frame is not None and (frame is not self._drawn or self._dirty):
            self._draw(frame)

    def redraw(self) -> None:
        """Draw the frame at the current position again (after a view option changed)."""
        frame = self.cache.nearest(self.position)
        if frame is not None:
            self._draw(frame)

    # ------------------------------------------------------------------------ drawing
    def _draw(self, frame: ViewFrame) -> None:
        self._drawn, self._dirty = frame, False
        res = frame.result
        self.video.show_frame(frame)
        teacher, student = res.poses.get("teacher"), res.poses.get("student")
        truth = ground_truth_key(res)
        overlay = res.poses.get(truth) if truth else res.poses.get("mediapipe")
        series = frame.errors
        what = "error against ground truth" if truth else "teacher vs student"
        self.view_legend.set_overlay("ground truth" if truth else "MediaPipe", what)
        colour_t = series.get("teacher", frame.error_mm)
        colour_s = series.get("student", frame.error_mm)
        world_t, trace_t = self._world_at("teacher", res.index)
        world_s, trace_s = self._world_at("student", res.index)
        self.teacher_view.set_pose(teacher, colour_t, ghost=student, overlay=overlay, world=world_t, trace=trace_t)
        self.student_view.set_pose(student, colour_s, ghost=teacher, overlay=overlay, world=world_s, trace=trace_s)
        now = time.perf_counter()
        live = self.worker is not None and self.worker.job.live
        moving = live or self.transport.playing
        ran = {b.name for b in self.worker.backends} if self.worker is not None else set()
        for panel, pose in ((self.teacher_view, teacher), (self.student_view, student)):
            panel.set_skipped(live and pose is None and panel.name in ran and res.found)
        # frame the skeletons: smoothly while playing, at once when paused (seeking) or first shown
        frame_views([self.teacher_view, self.student_view], snap=self._snap_views or not moving)
        self._snap_views = self._snap_views and teacher is None and student is None
        if not moving or now - self._slow_drawn_at >= SLOW_PANEL_INTERVAL_S:  # slow panels at a lower rate
            self._slow_drawn_at = now
            if self.tabs.currentWidget() is self.attention:
                self.attention.set_attention(res.attention)
            else:
                self.errors.set_errors(series, what)
                self.errors.set_cursor(res.index)
        total = self.worker.info.frame_count if self.worker else None
        self.transport.show_position(res.index, res.time_s, total)
        self._draw_times.append(now)
        if res.latency_s is not None and self.worker is not None and self.worker.job.live:
            self.latencies_ms.append((res.latency_s + now - frame.received_s) * 1000.0)
        self._update_stats(res)

    def _set_status(self, text: str) -> None:
        self.status_text = text
        if self._drawn is not None:
            self._update_stats(self._drawn.result)
        else:
            self.stats.setText(text)

    def _update_stats(self, res) -> None:
        parts = [self.status_text] if self.status_text else []
        recent = [t for t in self._draw_times if t > self._draw_times[-1] - 2.0]
        moving = self.transport.playing or (self.worker is not None and self.worker.job.live)
        if moving and len(recent) > 1 and recent[-1] > recent[0]:
            parts.append(f"display {(len(recent) - 1) / (recent[-1] - recent[0]):.0f} fps")
        file_2d = self.worker is not None and input_kind(self.worker.job.source) in TWO_D_KINDS
        for stage in STAGES:
            ms = res.timings_ms.get(stage, 0.0)
            if stage == "detect" and file_2d:
                parts.append("2D from the file")
            elif ms > 0:
                parts.append(f"{stage} {1000.0 / ms:.0f} fps")
        if self.latencies_ms:
            parts.append(f"latency {statistics.median(self.latencies_ms):.0f} ms")
        if self.worker is not None and self.worker.job.live:
            parts.append(f"look-ahead {self.worker.job.lookahead}")
        if self.worker is not None:
            parts.append(f"device {self.worker.device}")
            if self.worker.mailbox.dropped:
                parts.append(f"dropped {self.worker.mailbox.dropped}")
        self.stats.setText("   ·   ".join(parts))

    def screenshot(self) -> QPixmap:
        """The window as it is on screen, the 3D views included (they are native OpenGL
        windows, which ``QWidget.grab`` leaves out)."""
        pixmap = self.grab()
        painter = QPainter(pixmap)
        for panel in (self.teacher_view, self.student_view):
            if panel.view_widget.isVisible():
                where = QRect(panel.view_widget.mapTo(self, QPoint(0, 0)), panel.view_widget.size())
                painter.drawImage(where, panel.view.grabFramebuffer())
        painter.end()
        return pixmap

    # ------------------------------------------------------------------------ export
    def export(
        self,
        out_dir: str | Path,
        stem: str,
        formats: Sequence[str],
        backends: Sequence[str],
        height_m: float | None = None,
    ) -> list[Path]:
        """Export the processed frames with the core's writers; returns the files written.

        ``height_m``: the person's standing height, the exported skeleton is scaled to it
        (``None``: the lifter's own size); see :func:`scjd_core.outputs.world_poses`.

        Problems (still processing, a model that did not run, an unwritable folder) are
        shown in a dialog and give an empty list.
        """
        from scjd_core.errors import ScjdError
        from scjd_core.outputs import export_clip
        from scjd_core.pipeline import collect_results

        worker = self.worker
        if worker is None or not len(self.cache):
            self.show_error("nothing to export yet: open a video and let it process")
            return []
        if self.processing and not worker.job.live:
            self.show_error("the clip is still being processed: export when the progress bar is done")
            return []
        results = [f.result for f in self.cache.frames()]
        smoothing = "butterworth" if self.smoothing else "none"
        try:
            clip = collect_results(results, worker.info, worker.backends, total_s=0.0)
            return export_clip(
                clip, out_dir, formats, stem, backends, smoothing=smoothing, overwrite=True, height_m=height_m
            )
        except ScjdError as exc:
            self.show_error(str(exc))
            return []

    # ------------------------------------------------------------------------ close
    def closeEvent(self, event) -> None:
        """Stop the worker cleanly before the window goes."""
        self.timer.stop()
        self.stop_worker()
        super().closeEvent(event)
