"""Writes hidden/data/test.jsonl: the grader's QA test split (run once; the output is committed).

Same fact templates as builders/qa_data.py, but every person, city, company and pet name is one
the training data never uses, so the model must read the context rather than recall names.
Deterministic: running it again gives the same bytes.

    .venv/bin/python assignments/m08-qa/hidden/make_split.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from builders.qa_data import NAMES, generate, write_jsonl  # noqa: E402

HELD_OUT = {
    "first": [
        ("Bongani", "He"),
        ("Xiomara", "She"),
        ("Oskar", "He"),
        ("Yasmin", "She"),
        ("Teodor", "He"),
        ("Wanjiru", "She"),
        ("Cormac", "He"),
        ("Ludmila", "She"),
        ("Ravi", "He"),
        ("Soraya", "She"),
    ],
    "last": ["Okonkwo", "Vasquez", "Lindgren", "Petrakis", "Mbatha", "Kowalczyk", "Tremblay", "Haddad"],
    "city": [
        "Valparaiso",
        "Kraków",
        "Nagoya",
        "Aarhus",
        "Kisumu",
        "Salvador",
        "Indore",
        "Galway",
        "Trondheim",
        "Bilbao",
    ],
    "org": ["Kestrel Aerospace", "Quill Analytics", "Sapphire Hotels", "Cobalt Robotics", "Meridian Health"],
    "petname": ["Noodle", "Tofu", "Marble", "Pickle", "Juniper"],
}

if __name__ == "__main__":
    for key, values in HELD_OUT.items():
        assert not set(values) & set(NAMES[key]), key
    out = Path(__file__).parent / "data"
    out.mkdir(exist_ok=True)
    write_jsonl(out / "test.jsonl", generate(HELD_OUT, 300, seed=2027))
