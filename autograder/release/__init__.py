"""`course release`: student handouts and Gradescope autograder zips from reference solutions."""
