"""Mutation testing of the hidden graders: `course mutate MODULE`.

operators.py makes student-like mutants of the reference's solution regions; run.py grades each
with only the hidden tests that call its function (the map comes from grading the reference);
report.py keeps the results and reads the author's equivalent list; cli.py prints them.
"""
