"""Benchmarks and load profiles; they print figures and are never run as tests."""
