"""A generated named-entity corpus (CoNLL-style PER/ORG/LOC/MISC tags) for module 7.

No NER dataset installs offline, so sentences are made from templates and word lists. The
grader's test split uses other templates and other names, so a model must learn from context
rather than memorise names. The same seed always gives the same files.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
SLOT_TYPES = {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC", "NAT": "MISC"}

TEMPLATES = [
    "{PER} works for {ORG} in {LOC} .",
    "{PER} was born in {LOC} and moved to {LOC} in 1998 .",
    "{ORG} opened a new office in {LOC} last year .",
    "Yesterday {PER} met {PER} at the {MISC} .",
    "The {NAT} government praised {ORG} for its work .",
    "{PER} , a spokesperson for {ORG} , declined to comment .",
    "Shares of {ORG} fell sharply after the {MISC} .",
    "{PER} won the {MISC} for the second time .",
    "According to {PER} , the {LOC} plant will close in March .",
    "{ORG} and {ORG} signed a deal worth 4 million dollars .",
    "The {MISC} will take place in {LOC} next summer .",
    "{PER} flew from {LOC} to {LOC} on Monday .",
    "Police in {LOC} arrested two men on Tuesday .",
    "{PER} joined {ORG} as chief executive in 2015 .",
    "The {NAT} striker {PER} scored twice against {LOC} .",
    "Fans gathered in {LOC} to celebrate the {MISC} .",
    "{ORG} said profits rose by 12 percent .",
    "{PER} told reporters in {LOC} that talks had failed .",
    "A {NAT} court fined {ORG} on Friday .",
    "The new stadium in {LOC} was paid for by {ORG} .",
    "{PER} and {PER} will lead the {NAT} delegation .",
    "Officials from {ORG} visited {LOC} to inspect the damage .",
    "{PER} criticised the {MISC} as a waste of money .",
    "Heavy rain flooded parts of {LOC} over the weekend .",
    "{ORG} hired {PER} to run its {LOC} branch .",
    "The {NAT} minister {PER} resigned after the vote .",
    "Tickets for the {MISC} sold out within an hour .",
    "{PER} grew up near {LOC} before studying abroad .",
    "Investors expect {ORG} to report strong results .",
    "She thanked {PER} for organising the {MISC} in {LOC} .",
    "{ORG} moved its headquarters from {LOC} to {LOC} .",
    "Speaking in {LOC} , {PER} promised more jobs .",
    "The {NAT} firm {ORG} is hiring engineers .",
    "{PER} of {ORG} will speak at the {MISC} .",
    "Thousands watched the {MISC} on television .",
    "Rescue teams reached {LOC} late on Thursday .",
    "{PER} , 34 , has coached in {LOC} since 2019 .",
    "Analysts at {ORG} warned that prices would rise .",
    "The mayor of {LOC} , {PER} , opened the festival .",
    "{ORG} lost a court case brought by {PER} .",
]

FIRST_NAMES = [
    "James",
    "Maria",
    "Ahmed",
    "Chen",
    "Olga",
    "Pedro",
    "Fatima",
    "Lars",
    "Yuki",
    "Amara",
    "David",
    "Sofia",
    "Ivan",
    "Priya",
    "Tomas",
    "Elena",
    "Kwame",
    "Ingrid",
    "Rafael",
    "Mei",
    "Omar",
    "Hannah",
    "Diego",
    "Leila",
    "Sven",
    "Aisha",
    "Marco",
    "Nadia",
    "Hiroshi",
    "Grace",
    "Pablo",
    "Zainab",
    "Felix",
    "Anika",
    "Mateo",
    "Ruth",
    "Emeka",
    "Clara",
    "Jonas",
    "Lucia",
    "Tariku",
    "Ulrike",
    "Xiomara",
    "Bongani",
    "Svetlana",
    "Joaquin",
    "Oluwaseun",
    "Agnieszka",
    "Rashid",
    "Kerstin",
    "Nikolai",
    "Ayesha",
    "Gustavo",
    "Mirela",
    "Kenji",
    "Chiamaka",
]
LAST_NAMES = [
    "Smith",
    "Garcia",
    "Okafor",
    "Nakamura",
    "Petrov",
    "Johansson",
    "Haddad",
    "Silva",
    "Kowalski",
    "Mensah",
    "Fischer",
    "Rossi",
    "Dubois",
    "Novak",
    "Tanaka",
    "Oduya",
    "Lindqvist",
    "Moreau",
    "Castillo",
    "Brennan",
    "Yilmaz",
    "Hoffmann",
    "Adeyemi",
    "Sorensen",
    "Kaminski",
    "Varga",
    "Delgado",
    "Whitaker",
    "Abdullah",
    "Ferreira",
    "Nguyen",
    "Eriksen",
    "Mwangi",
    "Bianchi",
    "Oyelaran",
    "Vanderbilt",
    "Chaudhry",
    "Markovic",
    "Ishikawa",
    "Fitzgerald",
    "Almeida",
    "Bergstrom",
    "Kariuki",
    "Horvath",
    "Rasmussen",
    "Obuya",
    "Kuznetsov",
    "Mahlangu",
    "Benedetti",
    "Youssef",
]
ORGS = [
    "Acme Corp",
    "Northwind Traders",
    "Globex",
    "Blue River Bank",
    "Helios Energy",
    "Vertex Labs",
    "United Shipping",
    "Red Cross",
    "Orion Airlines",
    "Summit Insurance",
    "Greenfield Motors",
    "Atlas Mining",
    "Pioneer Foods",
    "Silverline Media",
    "Crown Pharmaceuticals",
    "Delta Textiles",
    "Harbor Logistics",
    "Lumen Software",
    "World Bank",
    "Nova Telecom",
    "Maple Holdings",
    "Ironclad Steel",
    "Bright Path Schools",
    "Coastal Railways",
    "Zenith Chemicals",
    "Apex Aerospace",
    "Sterling Health",
    "Birchwood Hotels",
    "Titan Group",
    "Swift Couriers",
    "Juniper Brewing",
    "Ardent Robotics",
    "Cascade Dynamics",
    "Quill Analytics",
    "Zephyr Systems",
    "Osprey Pharma",
    "Ember Partners",
    "Larkspur Foundation",
    "Hollis University",
    "Tundra Outfitters",
    "Redwood Construction Group",
]
LOCATIONS = [
    "Paris",
    "Lagos",
    "Tokyo",
    "Berlin",
    "Lima",
    "Nairobi",
    "Oslo",
    "Cairo",
    "Madrid",
    "Toronto",
    "Mumbai",
    "Sydney",
    "Warsaw",
    "Dublin",
    "Accra",
    "Vienna",
    "Santiago",
    "Hanoi",
    "Lisbon",
    "New York",
    "Cape Town",
    "Buenos Aires",
    "Kuala Lumpur",
    "Rio de Janeiro",
    "Hong Kong",
    "Texas",
    "Bavaria",
    "Kenya",
    "Brazil",
    "Norway",
    "Egypt",
    "Canada",
    "Ouagadougou",
    "Tashkent",
    "Valparaiso",
    "Bratislava",
    "Saskatoon",
    "Fez",
    "Zagreb",
    "Yogyakarta",
    "Kigali",
    "Dar es Salaam",
    "Baton Rouge",
    "Tierra del Fuego",
    "Sicily",
    "Siberia",
    "Mongolia",
    "Portugal",
    "Iceland",
]
MISC = [
    "World Cup",
    "Olympic Games",
    "Nobel Prize",
    "Tour de France",
    "Champions League",
    "Grammy Awards",
    "Super Bowl",
    "Eurovision Song Contest",
    "Booker Prize",
    "Wimbledon Final",
    "Climate Summit",
    "Paris Marathon",
    "Cannes Film Festival",
    "Davis Cup",
    "Stanley Cup",
    "Asian Games",
    "Fields Medal",
    "Monaco Grand Prix",
    "Edinburgh Fringe",
    "Paralympic Games",
    "Copa America",
    "Golden Globes",
]
NATIONALITIES = [
    "French",
    "Nigerian",
    "Japanese",
    "German",
    "Peruvian",
    "Kenyan",
    "Norwegian",
    "Egyptian",
    "Spanish",
    "Canadian",
    "Indian",
    "Australian",
    "Polish",
    "Irish",
    "Ghanaian",
    "Austrian",
    "Mexican",
    "Korean",
    "Turkish",
    "Swedish",
    "Moroccan",
    "Vietnamese",
    "Croatian",
    "Senegalese",
]

LEXICON = {
    "PER": (FIRST_NAMES, LAST_NAMES),
    "ORG": ORGS,
    "LOC": LOCATIONS,
    "MISC": MISC,
    "NAT": NATIONALITIES,
}


def _filler(slot: str, lexicon: dict, rng: random.Random) -> list[str]:
    """The words that fill one slot: a person is a first name, a surname, or both."""
    if slot == "PER":
        first, last = lexicon["PER"]
        form = rng.random()
        if form < 0.6:
            return [rng.choice(first), rng.choice(last)]
        return [rng.choice(last)] if form < 0.8 else [rng.choice(first)]
    return rng.choice(lexicon[slot]).split()


def sentence(template: str, lexicon: dict, rng: random.Random) -> dict:
    """Fill one template: whitespace-split words with their B-/I- tags (as label ids)."""
    tokens: list[str] = []
    tags: list[int] = []
    for piece in template.split():
        if piece.startswith("{") and piece.endswith("}"):
            slot = piece[1:-1]
            words = _filler(slot, lexicon, rng)
            kind = SLOT_TYPES[slot]
            tokens += words
            tags += [LABELS.index(f"B-{kind}")] + [LABELS.index(f"I-{kind}")] * (len(words) - 1)
        else:
            tokens.append(piece)
            tags.append(0)
    return {"tokens": tokens, "ner_tags": tags}


def generate(templates: list[str], lexicon: dict, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [sentence(rng.choice(templates), lexicon, rng) for _ in range(n)]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def build(out: Path, needs: dict[str, Path]) -> None:
    """train.jsonl (1,000 sentences) and validation.jsonl (200), plus labels.json."""
    write_jsonl(out / "train.jsonl", generate(TEMPLATES, LEXICON, 1000, seed=7))
    write_jsonl(out / "validation.jsonl", generate(TEMPLATES, LEXICON, 200, seed=8))
    (out / "labels.json").write_text(json.dumps(LABELS))
