"""An auto-grader for courses on Hugging Face Transformers: release, grade, check, validate."""

__version__ = "0.1.0"
