"""Writes hidden/data/test.jsonl: the grader's NER test split (run once; the output is committed).

Templates and names here never occur in the training data (builders/ner_data.py), so the split
measures whether a model learned to read context rather than memorise names. Deterministic:
running it again gives the same bytes.

    .venv/bin/python assignments/m07-ner/hidden/make_split.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from builders.ner_data import TEMPLATES, generate, write_jsonl  # noqa: E402

HELD_OUT_TEMPLATES = [
    "{PER} , who founded {ORG} , lives in {LOC} .",
    "Last week {ORG} announced plans to expand into {LOC} .",
    "The {MISC} was won by {PER} after a long match .",
    "{PER} thanked the fans in {LOC} after the {MISC} .",
    "Engineers at {ORG} said the bridge near {LOC} is safe .",
    "{PER} is expected to meet {PER} in {LOC} tomorrow .",
    "The {NAT} coach {PER} praised his young players .",
    "{ORG} will sponsor the {MISC} for three more years .",
    "Protesters marched through {LOC} on Sunday .",
    "In an interview , {PER} said {ORG} had grown too fast .",
    "A {NAT} company bought {ORG} for an undisclosed sum .",
    "{PER} left {LOC} in 2010 to work for {ORG} .",
]
HELD_OUT = {
    "PER": (
        [
            "Thandiwe",
            "Bjorn",
            "Kaveh",
            "Esperanza",
            "Dmitri",
            "Ngozi",
            "Aurelio",
            "Sakura",
            "Wojciech",
            "Imani",
            "Florin",
            "Beatriz",
            "Tariq",
            "Henrike",
            "Obinna",
            "Catalina",
        ],
        [
            "Abernathy",
            "Szabo",
            "Ramanathan",
            "Onyekachi",
            "Vukovic",
            "Takahashi",
            "Quintero",
            "Mbeki",
            "Lundgren",
            "Papadopoulos",
            "Achterberg",
            "Kiplagat",
            "Zhukov",
            "Gallagher",
        ],
    ),
    "ORG": [
        "Quantum Dynamics",
        "Riverside Brewing",
        "Polaris Bank",
        "Kestrel Aerospace",
        "Evergreen Pharma",
        "Meridian Health",
        "Cobalt Robotics",
        "Sapphire Hotels",
        "Granite Construction Group",
        "Falcon Couriers",
    ],
    "LOC": [
        "Reykjavik",
        "Kampala",
        "Montevideo",
        "Tbilisi",
        "Winnipeg",
        "Marrakesh",
        "Ljubljana",
        "Chiang Mai",
        "San Diego",
        "Addis Ababa",
        "Tasmania",
        "Patagonia",
        "Finland",
        "Ecuador",
    ],
    "MISC": [
        "Pulitzer Prize",
        "Ashes Series",
        "Berlin Film Festival",
        "Ryder Cup",
        "Oscar Ceremony",
        "Dakar Rally",
        "Venice Biennale",
        "Kentucky Derby",
    ],
    "NAT": ["Icelandic", "Ugandan", "Uruguayan", "Georgian", "Thai", "Ethiopian", "Finnish", "Chilean"],
}

if __name__ == "__main__":
    assert not set(HELD_OUT_TEMPLATES) & set(TEMPLATES)
    out = Path(__file__).parent / "data"
    out.mkdir(exist_ok=True)
    write_jsonl(out / "test.jsonl", generate(HELD_OUT_TEMPLATES, HELD_OUT, 400, seed=2027))
