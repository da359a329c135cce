"""The course's grading image: built offline from `course release`'s zips, graded in exactly as
Gradescope does (a fresh container per submission, `--network none`, memory, CPU and pids caps)."""
