"""Signals and artefacts on disk: images, audio, video, meshes, image sets, checkpoints, atomic files."""
