"""Helpers of the service tests: a launcher that runs the real app under uvicorn (optionally with a gated fake
engine), and a harness that starts it on a free loopback port and talks to it."""
