"""Locust load, stress and smoke profiles (`python -m bench.load --help`; README "Benchmarks")."""
