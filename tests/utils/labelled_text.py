"""A labelled set of records: natural text, word salad of four kinds, templated spam.

Natural: paragraphs of the Python standard library's docstrings (English prose written
by people, on every machine that runs this) and hand-written comments in six languages.
Salad: the sample exporter's invented words; words drawn uniformly from the natural
set's vocabulary; words drawn with their natural frequencies (the hard case: the
function-word share is right); natural records with their words shuffled.
Templated spam: slot-filled promotional templates."""

import importlib
import random
import re
from collections import Counter

from dao_service.stack.sample_exports import sentence

MODULES = ("argparse", "collections", "contextlib", "csv", "datetime", "email", "functools",
           "http.client", "inspect", "json", "logging", "pathlib", "pickle", "shutil",
           "socket", "sqlite3", "subprocess", "tarfile", "threading", "typing", "unittest",
           "urllib.request", "zipfile", "asyncio", "decimal", "fractions", "heapq", "io",
           "os", "random", "re", "string", "tempfile", "textwrap", "uuid")  # fmt: skip
COMMENTS = [
    "I tried this last week and honestly it worked better than I expected, thanks for posting.",
    "Does anyone know whether the new version still supports the old config files?",
    "We moved to a smaller flat last year and I don't miss the extra room at all.",
    "My grandmother used to make this every Sunday, and the smell still takes me back.",
    "Ich finde, dass die neue Regelung für Radfahrer in der Stadt viel zu spät kommt.",
    "Wir waren gestern am See und das Wasser war noch erstaunlich warm für den Oktober.",
    "Je ne comprends pas pourquoi le train est encore en retard, c'est la troisième fois.",
    "On a testé le restaurant dont tu parlais et c'était vraiment très bon, merci !",
    "No sé si es una buena idea, pero creo que vale la pena intentarlo este año.",
    "Mi hermano y yo vamos a ver el partido en casa de unos amigos el sábado.",
    "Eu acho que o filme é muito longo, mas a música e as imagens são lindas.",
    "Non ho ancora capito come funziona il nuovo sistema, ma ci sto provando.",
    "Ik heb het boek gisteren uitgelezen en ik vond het einde echt verrassend.",
]
TEMPLATES = [
    "Buy {product} now at {site}! The best {adjective} deals on {product}, limited offer.",
    "Click here to win a free {product} today, only at {site}, {adjective} prizes daily!",
    "Earn ${amount} a day from home with {site}, no experience needed, {adjective} results.",
    "Get {amount}% off every {product} at {site} this week, {adjective} quality guaranteed!",
]
SLOTS = {
    "product": ["phone", "laptop", "watch", "sneakers", "headphones", "camera", "tablet"],
    "site": ["deals4u.example", "bestbuy-now.example", "cheapstuff.example", "megasale.example"],
    "adjective": ["amazing", "incredible", "unbeatable", "exclusive", "premium", "huge"],
    "amount": ["50", "200", "500", "70", "30"],
}


def natural_records(limit: int = 2000) -> list[str]:
    out: list[str] = []
    for name in MODULES:
        module = importlib.import_module(name)
        for value in [module, *vars(module).values()]:
            doc = getattr(value, "__doc__", None)
            if not isinstance(doc, str) or getattr(value, "__module__", name) != name:
                continue
            for paragraph in re.split(r"\n\s*\n", doc):
                text = " ".join(paragraph.split())
                # Prose only: no signatures, tables, code or option lists.
                if (
                    len(text.split()) >= 10
                    and text[0].isupper()
                    and not re.search(r"[{}<>=|]|\)\s*->|^\w+\(|\.\.\.|>>>|--", text)
                ):
                    out.append(text)
    unique = list(dict.fromkeys(out))
    random.Random(0).shuffle(unique)
    return unique[:limit] + COMMENTS


def labelled_set(per_class: int = 500, seed: int = 7) -> dict[str, list[str]]:
    rng = random.Random(seed)
    natural = natural_records()
    words = [w for text in natural for w in text.split()]
    vocabulary = sorted(set(words))
    frequencies = Counter(words)
    common, weights = zip(*frequencies.items(), strict=True)

    def length() -> int:
        return rng.randint(10, 40)

    def shuffled(text: str) -> str:
        parts = text.split()
        rng.shuffle(parts)
        return " ".join(parts)

    def template() -> str:
        chosen = rng.choice(TEMPLATES)
        return chosen.format(**{k: rng.choice(v) for k, v in SLOTS.items()})

    return {
        "natural": natural,
        "salad: invented words": [sentence(rng, length()) for _ in range(per_class)],
        "salad: uniform vocabulary": [
            " ".join(rng.choices(vocabulary, k=length())) for _ in range(per_class)
        ],
        "salad: natural frequencies": [
            " ".join(rng.choices(common, weights=weights, k=length())) for _ in range(per_class)
        ],
        "salad: shuffled sentences": [shuffled(rng.choice(natural)) for _ in range(per_class)],
        "templated spam": [template() for _ in range(per_class)],
    }
