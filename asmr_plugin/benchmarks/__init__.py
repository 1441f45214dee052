"""Benchmarks of the fast paths: render latency (``latency``) and training steps with and without sharing (``training``)."""
