"""Does a record read as natural language, or as word salad? Per batch, vectorised.

Two statistics of the normalised words against a reference profile of function words
(the closed-class words every sentence of a language needs: articles, prepositions,
pronouns, auxiliaries), for English and the main Latin-script European languages:

  function-word share   natural prose: ~35-55 % of its words; salad drawn from a
                        vocabulary (or invented words): a few %
  word order            a determiner is followed by a noun or adjective, almost never
                        by a preposition or conjunction ("the of", "a and"), nor a
                        preposition by another ("of in"); salad drawn with natural word
                        frequencies, or shuffled prose, gets the share right, not this

A record of at least MIN_WORDS words, mostly in Latin script, that fails either is unnatural. Other
scripts (CJK, Arabic, Cyrillic...) are not judged: the profile does not cover them, and
an unjudged record keeps its quality. Nothing is downloaded: the profile is below.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MIN_WORDS = 8
MIN_FUNCTION_SHARE = 0.12
# Two odd pairs, and more than one in ten of the words that govern what follows them:
# prose slips rarely (a list, a quote), random order often.
MIN_ODD_PAIRS = 2
MAX_ODD_SHARE = 0.1
MAX_OTHER_SCRIPT = 0.2  # bytes beyond one per character, per character

# English word classes whose order no sentence breaks: a determiner is followed by a
# noun or adjective, not by another determiner, a preposition, a conjunction, an
# auxiliary or a subject pronoun; a preposition not by another preposition, a
# conjunction or an auxiliary ("to" is left out: "to be" is an infinitive).
CLASSES = {
    "determiner": ["the", "a", "an", "my", "your", "his", "our", "their", "its", "this",
                   "these", "those", "every", "each"],
    "preposition": ["of", "in", "on", "at", "for", "with", "from", "by", "about", "into",
                    "over", "after", "before", "under", "between", "through"],
    "conjunction": ["and", "or", "but", "if", "than", "because", "while"],
    "auxiliary": ["is", "are", "was", "were", "be", "been", "am", "do", "does", "did",
                  "have", "has", "had", "will", "would", "can", "could", "should", "may",
                  "might", "must"],
    "subject": ["i", "he", "she", "we", "they"],
}  # fmt: skip
ODD_AFTER = {
    "determiner": {"determiner", "preposition", "conjunction", "auxiliary", "subject"},
    "preposition": {"preposition", "conjunction", "auxiliary"},
    "conjunction": {"conjunction"},
    "subject": {"determiner", "subject"},
}
NAMES = list(CLASSES)
CLASSED = pa.array([w for name in NAMES for w in CLASSES[name]])
CLASS_OF = np.array([1 + NAMES.index(n) for n in NAMES for _ in CLASSES[n]] + [0], np.int8)
ODD = np.zeros((len(NAMES) + 1, len(NAMES) + 1), bool)
for before, afters in ODD_AFTER.items():
    for after in afters:
        ODD[1 + NAMES.index(before), 1 + NAMES.index(after)] = True
GOVERNING = ODD.any(axis=1)
FUNCTION_WORDS = {
    "en": [
        *(w for words in CLASSES.values() for w in words),
        "to", "it", "you", "that", "not", "so", "as", "then", "there", "what", "which", "who",
        "me", "him", "her", "us", "them", "up", "out", "just", "no", "all", "some", "any",
        "more", "most", "very", "also", "how", "when", "where", "why", "being", "one",
        "like", "get", "got", "here", "now", "only", "even", "still", "really", "too",
    ],
    "de": ["der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "und",
           "oder", "aber", "ist", "sind", "war", "nicht", "ich", "du", "er", "sie", "es",
           "wir", "ihr", "mit", "von", "zu", "auf", "für", "an", "im", "in", "auch", "dass",
           "wie", "so", "noch", "nur", "man", "sich", "bei", "aus", "wenn", "hat", "habe"],
    "fr": ["le", "la", "les", "un", "une", "des", "du", "de", "et", "ou", "mais", "est",
           "sont", "était", "ne", "pas", "je", "tu", "il", "elle", "nous", "vous", "ils",
           "que", "qui", "dans", "sur", "pour", "avec", "par", "au", "aux", "ce", "cette",
           "en", "se", "sa", "son", "ses", "on", "plus", "très", "comme", "mon", "ma"],
    "es": ["el", "la", "los", "las", "un", "una", "unos", "y", "o", "pero", "es", "son",
           "era", "no", "yo", "tú", "él", "ella", "nosotros", "que", "de", "del", "en",
           "con", "por", "para", "al", "lo", "se", "su", "sus", "mi", "muy", "más", "como",
           "este", "esta", "hay", "ya", "me", "te", "le", "les", "si", "cuando", "también"],
    "pt": ["o", "a", "os", "as", "um", "uma", "e", "ou", "mas", "é", "são", "não", "eu",
           "você", "ele", "ela", "nós", "que", "de", "do", "da", "dos", "das", "em", "no",
           "na", "com", "por", "para", "se", "seu", "sua", "muito", "mais", "como", "isso"],
    "it": ["il", "lo", "la", "i", "gli", "le", "un", "una", "e", "o", "ma", "è", "sono",
           "non", "io", "tu", "lui", "lei", "noi", "che", "di", "del", "della", "in", "con",
           "per", "da", "al", "si", "mi", "ti", "ci", "molto", "più", "come", "questo"],
    "nl": ["de", "het", "een", "en", "of", "maar", "is", "zijn", "was", "niet", "ik",
           "jij", "je", "hij", "zij", "ze", "wij", "we", "dat", "die", "van", "in", "op",
           "met", "voor", "aan", "te", "er", "om", "ook", "als", "bij", "wat", "nog"],
}  # fmt: skip
PROFILE = pa.array(sorted({w for words in FUNCTION_WORDS.values() for w in words}))
REASON = "word salad or filler (few function words, or words in an order no sentence has)"


def unnatural(normalised: pa.Array, words: np.ndarray) -> np.ndarray:
    """Per record of `normalised` text (see fingerprints.normalise; `words` its word
    counts): True where it is long enough to judge and reads as no language does."""
    out = np.zeros(len(normalised), bool)
    chars = pc.utf8_length(normalised).to_numpy(zero_copy_only=False)
    extra_bytes = pc.binary_length(normalised).to_numpy(zero_copy_only=False) - chars
    latin = extra_bytes <= MAX_OTHER_SCRIPT * chars  # accents and an emoji, not a script
    rows = np.flatnonzero((words >= MIN_WORDS) & latin)
    if not rows.size:
        return out
    lists = pc.split_pattern(pc.take(normalised, pa.array(rows)), " ")
    tokens = pc.list_flatten(lists)
    offsets = lists.offsets.to_numpy()
    starts, counts = offsets[:-1], np.diff(offsets)
    function = pc.is_in(tokens, value_set=PROFILE).to_numpy(zero_copy_only=False)
    found = pc.index_in(tokens, value_set=CLASSED).fill_null(-1).to_numpy(zero_copy_only=False)
    classes = CLASS_OF[found]  # -1 (no class) picks the trailing 0
    # A word followed, within the same record, by one that cannot follow it.
    last = np.zeros(len(tokens), bool)
    last[offsets[1:] - 1] = True
    odd = np.zeros(len(tokens), bool)
    odd[:-1] = ODD[classes[:-1], classes[1:]] & ~last[:-1]
    governing = GOVERNING[classes] & ~last
    shares = np.add.reduceat(function, starts) / counts
    governed = np.add.reduceat(governing, starts)
    odd_pairs = np.add.reduceat(odd, starts)
    salad = shares < MIN_FUNCTION_SHARE
    salad |= (odd_pairs >= MIN_ODD_PAIRS) & (odd_pairs > MAX_ODD_SHARE * governed)
    out[rows] = salad
    return out
