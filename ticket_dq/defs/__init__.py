"""Dagster objects only, thin: one folder per stage, one file per kind. Loaded by definitions.py."""
