"""The submission portal: students upload and read their feedback, TAs watch the queue and the gradebook.

`store` (the SQLite tables beside the gradebook's) and `grader` (the process that drains the queue)
never import FastAPI; the web app (`app` and its routers) only queues work and reads results.
"""
