"""The boundary between trusted grader and untrusted student code.

`server` runs inside the (sandboxed) worker process and imports the student's files.
`client` is the trusted side: it sends calls and accepts only plain JSON values back.
"""
