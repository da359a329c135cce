"""Grading: take a submission in, run the hidden pytest graders against it, write results.json."""
