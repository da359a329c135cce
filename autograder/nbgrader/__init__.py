"""nbgrader interop: export modules as nbgrader assignments, import nbgrader notebooks as modules,
grade nbgrader's collected submissions and write the scores back into its gradebook.

nbgrader itself (~4 s to import, Jupyter server packages) is imported only inside these commands:
nothing on the grading path imports it (`layout.py` is plain pathlib for that reason).
"""
