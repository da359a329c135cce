"""Quizzes: a question bank per module, a personal variant per student, grading, LMS export.

The pipeline, one module per step:
  bank.py      quizzes/<module>.yaml as typed models (expr.py: the safe answer expressions)
  codeq.py     run "what does this print?" snippets once, offline, and cache their output
  variant.py   (course, quiz, student) -> seed -> the student's questions, numbers and choice order
  grading.py   answers -> scores and per-choice feedback; responses files; grades.csv
  render.py    a variant as Markdown, HTML or a notebook; take.py: the terminal quiz
  analysis.py  difficulty, discrimination, score distribution; gradebook.py: the course gradebook
  gift.py, qti.py  Moodle and Canvas export; checks.py: the rows of `course validate`
  cli.py       `course quiz take|render|grade|analyze|export`
"""
