"""Compositions: one request, several generation jobs (scenes, a score), one assembled film."""
