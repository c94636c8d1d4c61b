"""The viewer's panels: video, 3D skeletons, attention, per-joint error, transport."""
