"""SCJD core: headless 3D human pose from video (no Qt, no OpenGL).

Heavy dependencies (torch, mediapipe, cv2) are imported lazily by the modules that
need them, so ``import scjd_core`` stays fast.
"""

__version__ = "0.1.0"
