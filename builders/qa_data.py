"""A generated SQuAD-style question-answering set for module 8.

No SQuAD installs offline, so each example is a short profile of one person (a name sentence and
2-4 facts, in random order) with a question whose answer is a span of the context. The grader's
test split uses people, places, companies and pets that never occur here. Same seed, same files.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# fact sentence, then (question, slot holding the answer) pairs; {P} is the pronoun, {N} the name
FACTS = [
    ("{P} was born in {city}.", [("Where was {N} born?", "city")]),
    (
        "{P} works as {job} at {org}.",
        [("What is {N}'s job?", "job"), ("Which company does {N} work for?", "org")],
    ),
    (
        "{P} moved to {city2} in {year}.",
        [("When did {N} move to {city2}?", "year"), ("Where did {N} move in {year}?", "city2")],
    ),
    ("{P} has a {pet} called {petname}.", [("What is the name of {N}'s {pet}?", "petname")]),
    ("{Pos} favourite food is {food}.", [("What is {N}'s favourite food?", "food")]),
    ("{P} speaks {language} at home.", [("Which language does {N} speak at home?", "language")]),
    ("{P} studied {subject} at university.", [("What did {N} study?", "subject")]),
]

SHARED = {  # vocabularies that are not names: the same in every split
    "job": [
        "a nurse",
        "an engineer",
        "a teacher",
        "a pilot",
        "a lawyer",
        "a chef",
        "an architect",
        "a journalist",
        "a pharmacist",
        "an accountant",
        "a plumber",
        "a librarian",
    ],
    "pet": ["dog", "cat", "parrot", "rabbit", "horse", "tortoise"],
    "food": [
        "pasta",
        "sushi",
        "lentil soup",
        "fried plantain",
        "dumplings",
        "paella",
        "roast chicken",
        "pancakes",
        "tacos",
        "mushroom risotto",
    ],
    "language": [
        "Spanish",
        "Swahili",
        "Japanese",
        "Polish",
        "Arabic",
        "Portuguese",
        "Hindi",
        "Dutch",
        "Korean",
        "Greek",
    ],
    "subject": [
        "chemistry",
        "history",
        "economics",
        "civil engineering",
        "medicine",
        "philosophy",
        "computer science",
        "marine biology",
    ],
}

NAMES = {
    "first": [
        ("Anna", "She"),
        ("Brian", "He"),
        ("Carmen", "She"),
        ("Dev", "He"),
        ("Eva", "She"),
        ("Farid", "He"),
        ("Gloria", "She"),
        ("Hugo", "He"),
        ("Irene", "She"),
        ("Jamal", "He"),
        ("Keiko", "She"),
        ("Luis", "He"),
        ("Marta", "She"),
        ("Nikos", "He"),
        ("Olivia", "She"),
        ("Pavel", "He"),
        ("Rosa", "She"),
        ("Samuel", "He"),
        ("Tanvi", "She"),
        ("Viktor", "He"),
    ],
    "last": [
        "Alvarez",
        "Becker",
        "Costa",
        "Dimitrov",
        "Eze",
        "Fontaine",
        "Gupta",
        "Hansen",
        "Ito",
        "Jensen",
        "Khan",
        "Larsen",
        "Mendes",
        "Nowak",
        "Osei",
        "Quinn",
        "Reyes",
        "Sato",
    ],
    "city": [
        "Lyon",
        "Porto",
        "Osaka",
        "Gdansk",
        "Mombasa",
        "Curitiba",
        "Pune",
        "Leeds",
        "Bergen",
        "Seville",
        "Izmir",
        "Perth",
        "Halifax",
        "Tampere",
        "Durban",
        "Graz",
    ],
    "org": [
        "Acme Corp",
        "Helios Energy",
        "Vertex Labs",
        "Orion Airlines",
        "Blue River Bank",
        "Lumen Software",
        "Atlas Mining",
        "Nova Telecom",
        "Pioneer Foods",
        "Summit Insurance",
    ],
    "petname": ["Biscuit", "Pepper", "Mango", "Shadow", "Luna", "Rocky", "Ziggy", "Clover"],
}


def example(rng: random.Random, names: dict, index: int) -> dict:
    """One context about one person, and one question whose answer is a span of it."""
    first, pronoun = rng.choice(names["first"])
    name = f"{first} {rng.choice(names['last'])}"
    city, city2 = rng.sample(names["city"], 2)
    values = {
        "N": name,
        "P": pronoun,
        "Pos": "Her" if pronoun == "She" else "His",
        "city": city,
        "city2": city2,
        "org": rng.choice(names["org"]),
        "petname": rng.choice(names["petname"]),
        "year": str(rng.randint(1990, 2024)),
        **{k: rng.choice(v) for k, v in SHARED.items()},
    }
    facts = rng.sample(FACTS, rng.randint(2, 4))
    sentence, questions = facts[0]  # the fact asked about; it lands anywhere in the context
    question, slot = rng.choice(questions)
    rng.shuffle(facts)
    parts = [f"This is {name}."]
    answer_start = -1
    for fact, _ in facts:
        text = fact.format(**values)
        if fact == sentence:
            offset = sum(len(p) + 1 for p in parts)
            answer_start = offset + text.index(values[slot]) if values[slot] in text else -1
        parts.append(text)
    context = " ".join(parts)
    answer = values[slot]
    assert context[answer_start : answer_start + len(answer)] == answer, (context, answer)
    return {
        "id": f"q{index:05d}",
        "context": context,
        "question": question.format(**values),
        "answers": {"text": [answer], "answer_start": [answer_start]},
    }


def generate(names: dict, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [example(rng, names, i) for i in range(n)]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def build(out: Path, needs: dict[str, Path]) -> None:
    """train.jsonl (1,000 questions) and validation.jsonl (200), SQuAD fields."""
    write_jsonl(out / "train.jsonl", generate(NAMES, 1000, seed=11))
    write_jsonl(out / "validation.jsonl", generate(NAMES, 200, seed=12))
