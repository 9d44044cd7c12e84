"""A labelled set for near-duplicate detection: pairs of texts that are the same item
(small edits, reorderings, added emoji, case and punctuation) or not (unrelated text,
a reply that quotes a third of the original).

Lengths follow the exports: comments of 12-40 words, tweets of 8-30, short items of 4-8.
"""

import random
from dataclasses import dataclass

from dao_service.stack.sample_exports import sentence, word

DUPLICATE_KINDS = ("one-word-edit", "typo", "reordered", "emoji-added", "case-punctuation")
DISTINCT_KINDS = ("unrelated", "quotes-a-third")


@dataclass(frozen=True)
class Pair:
    kind: str
    first: str
    second: str
    duplicate: bool


def _variant(rng: random.Random, kind: str, text: str) -> str:
    words = text.split()
    if kind == "one-word-edit":
        words[rng.randrange(len(words))] = word(rng)
    elif kind == "typo":
        i = rng.randrange(len(words))
        w = words[i]
        j = rng.randrange(len(w))
        words[i] = w[:j] + rng.choice("aeioux") + w[j + 1 :]
    elif kind == "reordered":  # the same sentences in another order
        cut = rng.randint(len(words) // 3, 2 * len(words) // 3)
        words = words[cut:] + words[:cut]
    elif kind == "emoji-added":
        return text + " " + "".join(rng.choice("😂🔥🚀👍❤️✨") for _ in range(rng.randint(1, 3)))
    elif kind == "case-punctuation":
        return text.upper() + rng.choice(["!!", "?!", "...", " :)"])
    elif kind == "quotes-a-third":
        keep = max(1, len(words) // 3)
        return " ".join(words[:keep] + sentence(rng, len(words) - keep).split())
    return " ".join(words)


def labelled_pairs(count: int = 3000, seed: int = 17) -> list[Pair]:
    rng = random.Random(seed)
    kinds = DUPLICATE_KINDS + DISTINCT_KINDS
    pairs = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        length = rng.choice([rng.randint(12, 40), rng.randint(8, 30), rng.randint(4, 8)])
        text = sentence(rng, length)
        other = sentence(rng, length) if kind == "unrelated" else _variant(rng, kind, text)
        pairs.append(Pair(kind, text, other, kind in DUPLICATE_KINDS))
    return pairs
