"""Module 5's task: route a customer-support ticket to the team that handles it.

Generated from templates and word lists, seeded, so the data is the same on every machine. The
base SmolLM2 does not know this course's three team names, which is what LoRA has to teach it.
`build` writes the public train/validation split; the hidden grader draws other tickets with
`tickets(seed, n, exclude)`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TEAMS = ("billing", "shipping", "technical")
SEED = 505
N_TRAIN, N_VALID = 120, 30

OPENERS = [
    "Hi,",
    "Hello team,",
    "Urgent:",
    "Good morning.",
    "Quick question:",
    "Hey there,",
    "Dear support,",
    "",
]
CLOSERS = [
    "Thanks.",
    "Please help.",
    "Can you fix this?",
    "What should I do?",
    "",
    "Regards, Sam.",
    "Any update?",
]
PROBLEMS = {
    "billing": [
        "I was charged twice for my {plan} subscription",
        "my invoice for {month} shows the wrong amount",
        "I need a refund for the {plan} plan I cancelled",
        "my credit card was declined when I paid in {month}",
        "why did my monthly price go up in {month}",
        "please update the VAT number on my {plan} invoices",
        "I cannot download the receipt for my {plan} payment",
    ],
    "shipping": [
        "my parcel with the {item} has not arrived after {days} days",
        "the courier left the {item} at the wrong address",
        "the tracking number for my {item} does not work",
        "the box with my {item} arrived crushed",
        "can I change the delivery address for the {item} I ordered",
        "my {item} has been stuck in customs for {days} days",
        "only half of my order arrived, the {item} is missing",
    ],
    "technical": [
        "the app crashes every time I open the {feature} page",
        "I get error {code} when I try to log in",
        "the {feature} button does nothing on my phone",
        "sync stopped working after the update to version {version}",
        "the {feature} screen stays blank in my browser",
        "I keep getting error {code} when uploading a file",
        "the password reset link for the {feature} settings is broken",
    ],
}
FILLERS = {
    "plan": ["Basic", "Pro", "Family", "Business", "Student", "Premium"],
    "month": ["January", "March", "April", "June", "August", "October", "December"],
    "item": [
        "laptop stand",
        "blender",
        "desk lamp",
        "backpack",
        "headphones",
        "coffee grinder",
        "phone case",
    ],
    "days": ["five", "ten", "twelve", "three", "eight"],
    "feature": ["dashboard", "export", "calendar", "profile", "reports", "notifications"],
    "code": ["500", "403", "E-17", "0x80070005", "429", "AUTH-2"],
    "version": ["4.2", "5.0.1", "3.9", "6.1"],
}


def ticket(rng: random.Random, team: str) -> str:
    problem = rng.choice(PROBLEMS[team])
    problem = problem.format(**{k: rng.choice(v) for k, v in FILLERS.items()})
    text = " ".join(
        p for p in (rng.choice(OPENERS), problem[0].upper() + problem[1:] + ".", rng.choice(CLOSERS)) if p
    )
    return text


def tickets(seed: int, n: int, exclude: set[str] = frozenset()) -> list[dict]:
    """`n` distinct tickets, balanced over the teams, none of them in `exclude`."""
    rng = random.Random(seed)
    rows, seen = [], set(exclude)
    while len(rows) < n:
        team = TEAMS[len(rows) % len(TEAMS)]
        text = ticket(rng, team)
        if text not in seen:
            seen.add(text)
            rows.append({"ticket": text, "team": team})
    rng.shuffle(rows)
    return rows


def build(out: Path, needs: dict[str, Path]) -> None:
    rows = tickets(SEED, N_TRAIN + N_VALID)
    for name, part in (("train.jsonl", rows[:N_TRAIN]), ("valid.jsonl", rows[N_TRAIN:])):
        (out / name).write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
