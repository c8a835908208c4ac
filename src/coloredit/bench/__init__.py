"""COLORBENCH: benchmark folders, metrics, method registry, resumable runs and reports."""
