"""Fuzzing entry points for aekit's readers; see fuzz/README.md."""
