"""Personal data out of public post texts, before renters see them. Per column, vectorised.

Renters receive texts in which

  emails, phone numbers, IP addresses,   become typed placeholders (`PLACEHOLDERS`):
  card numbers and IBANs                 "<EMAIL>", "<PHONE>", "<IP_ADDRESS>", ...
  other people's handles (u/name,        become stable pseudonyms: `u/` or `@` + pseudonym(name)
  /u/name, @name)                        (also in reddit.com/user/NAME, x.com/NAME and
                                         twitter.com/NAME links)
  the contributor's own handles          become the contributor's own pseudonym, with or
                                         without a prefix (a bare word, any case)

Recognisers: Microsoft Presidio's pattern recognizers (`presidio-analyzer`) for emails,
IP addresses (v4 and v6, validated by `ipaddress`), card numbers (Luhn) and IBANs
(per-country format and mod-97 checksum), called directly on the text: no spaCy
pipeline and no model is loaded (spaCy is installed with Presidio, and spaCy 3.8 /
thinc 8.3 run on the numpy<2 that ape pins). Changes to Presidio's defaults, each for a
reason:
  - phone numbers: Google's `phonenumbers` (what Presidio's PhoneRecognizer uses) on
    candidate digit runs, validated per region (US, GB; any country after + or 00).
    Presidio's PhoneRecognizer runs phonenumbers' matcher once per region over the
    whole text, ~2.5 ms a text here: 100x too slow for the budget below.
  - email domains are checked against the public suffix list bundled with tldextract,
    never fetched (Presidio's default tldextract downloads it on first use).
  - cards: Mastercard's 2221-2720 range is added (Presidio's pattern starts 4/5/6/3/1).
  - IP: the unspecified address "::" is not replaced (Presidio scores it 0.1; "a :: b"
    is code or notation, not an address).
Presidio's anonymizer is not used: placeholders, pseudonyms and the order between them
(an email is never read as a handle) are one pass over each text here.

Speed: validation runs at ~5-11 MB/s per core and the whole refinement may add 25%, so
`scrub` must run at >= 40 MB/s per core over a column where most texts carry nothing.
Each kind has an RE2 signal (`_KIND_SIGNALS`: a superset of what its recogniser can
find, e.g. ten digits with at most three of " ().-" between two for a national phone
number); one `pc.match_substring_regex` pass of all of them and the handle signals over
the whole Arrow column keeps the texts that may change, one pass per kind over those
tells which recognisers a text needs, and only they run, in Python. Emails and IPs are
looked for in the white-space tokens around the signal alone (an address holds no
space, and Presidio's patterns are slow over long texts). The results go back with
`pc.replace_with_mask`. `scrub_one` and `find` run the same code on a column of one
text, so `scrub` equals `scrub_one` row by row. Figures: bench/RESULTS.md.

Not removed (README, "What renters receive"): names, postal addresses and any other
identifier in free text; digits in scripts other than ASCII; national phone numbers of
countries other than the US/Canada and the UK written without + or 00, and local numbers
without their area code; emails written around ("bob at example dot org"); IBANs in
lower case; handles in other forms than the ones above. A public post can still be found
by searching for its words.

Thread-safe: the recognisers are built once per process, on first need (or `preload()`),
under a lock: ~1 s and ~50 MB for importing Presidio and spaCy. A Scrubber holds no
mutable state; constructing one costs nothing.
"""

from __future__ import annotations

import bisect
import functools
import re
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import pyarrow as pa
import pyarrow.compute as pc

PLACEHOLDERS: dict[str, str] = {
    "EMAIL": "<EMAIL>",
    "PHONE": "<PHONE>",
    "IP_ADDRESS": "<IP_ADDRESS>",
    "CREDIT_CARD": "<CREDIT_CARD>",
    "IBAN": "<IBAN>",
}

# Of two findings that overlap, the earlier kind here wins.
_PRIORITY = {"EMAIL": 0, "IBAN": 1, "CREDIT_CARD": 2, "IP_ADDRESS": 3, "PHONE": 4}

# --- signals: RE2 (pyarrow.compute), one pattern per kind -------------------------------------
# Each is a superset of what its recogniser can find (ASCII digits), so a recogniser runs
# only on the texts its signal matches. Over the whole column runs one pass of all of them
# together with the handle signals; the per-kind passes run on the rows it keeps.
_KIND_SIGNALS = {
    "EMAIL": r"[^\s@]@[^\s@.]+\.[^\s@.]",
    # Card numbers start with 1-6 (Presidio's pattern, plus Mastercard's 2-series).
    "CREDIT_CARD": r"\b[1-6]\d{3}[ \-]?\d{3,4}[ \-]?\d{3,4}",
    # "::" next to a hex digit, or eight groups: not "12:30:45", nor reST's "as follows::".
    "IP_ADDRESS": r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9A-Fa-f]::|::[0-9A-Fa-f]"
    r"|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]",
    "IBAN": r"[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]{4}){2}",
    # 8 digits after a +, or 10, with at most 3 of " ().-" between two digits.
    "PHONE": r"\+ ?\(?\d(?:[ ().\-]{0,3}\d){7}|\d(?:[ ().\-]{0,3}\d){9}",
}
_HANDLE_SIGNAL = r"@|(?i:\bu/)|(?i:reddit\.com/user/|twitter\.com/|x\.com/)"
_SIGNAL = "|".join((_HANDLE_SIGNAL, *_KIND_SIGNALS.values()))

# --- Python patterns, on the few texts a signal kept -----------------------------------------
# The tokens (between white space) that may hold an IP address: Presidio's IP patterns are
# slow over a whole text, so they run on these alone (an address holds no space).
_IP_TOKEN = re.compile(_KIND_SIGNALS["IP_ADDRESS"], re.ASCII)
_SPACE = re.compile(r"\s")
# Digit groups joined by one separator (space, dot, dash) or parentheses: "(415) 555-2671",
# "+44 (0)20 7946 0958", "415.555.2671". Possessive: a long run costs one pass.
_PHONE_RUN = re.compile(r"(?:\+ ?)?\(?\d+\)?(?:[ .\-]?\(?\d+\)?)*+", re.ASCII)
_DIGITS = re.compile(r"\d+", re.ASCII)
_WORD = re.compile(r"\w")  # Unicode: a letter of any script glues a number or handle to a word

# @name not after a letter, digit or @ (the lookbehind follows the @, so re skips to each @).
_AT_HANDLE = re.compile(r"@(?<![\w@]@)([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_@])")
_REDDIT_HANDLE = re.compile(r"[uU]/([A-Za-z0-9_-]{2,20})(?![A-Za-z0-9_-])", re.ASCII)
_PROFILE_LINK = re.compile(
    r"(?i:reddit\.com/user/)([A-Za-z0-9_-]{2,20})(?![A-Za-z0-9_-])"
    r"|(?i:(?:www\.|mobile\.)?(?:twitter|x)\.com/)([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_])",
    re.ASCII,
)


def _glued(text: str, at: int) -> bool:
    """Is the character before position `at` part of a word?"""
    return at > 0 and _WORD.match(text, at - 1) is not None


@dataclass(frozen=True)
class Finding:
    """A span of personal data in one text (character offsets, end exclusive)."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class _Own:
    """The contributor's handles for one call: lower-case name -> pseudonym."""

    names: dict[str, str]
    bare: re.Pattern[str]  # a bare mention, word-bounded, any case
    signal: str  # RE2: matches wherever `bare` does (and more: no word boundaries)

    @classmethod
    def of(
        cls, handles: Collection[str], own_pseudonym: str | None, pseudonym: Callable[[str], str]
    ) -> _Own | None:
        names = {_handle_name(h) for h in handles} - {""}
        if not names:
            return None
        ordered = sorted(names, key=len, reverse=True)  # the longest first in the alternation
        alternation = "|".join(re.escape(n) for n in ordered)
        return cls(
            names={n: own_pseudonym if own_pseudonym is not None else pseudonym(n) for n in names},
            bare=re.compile(rf"(?<![A-Za-z0-9_])(?:{alternation})(?![A-Za-z0-9_])", re.I | re.A),
            signal="(?i:" + "|".join("".join(map(_re2_literal, n)) for n in ordered) + ")",
        )


def _handle_name(handle: str) -> str:
    name = handle.strip().lower()
    for prefix in ("/u/", "u/", "@"):
        name = name.removeprefix(prefix)
    return name


def _re2_literal(char: str) -> str:
    return char if char.isascii() and (char.isalnum() or char == "_") else f"\\x{{{ord(char):x}}}"


class Scrubber:
    """Replaces personal data and handles in public texts; see the module docstring.

    `pseudonym(handle)` returns a stable pseudonym for a handle given lower-cased and
    without its u/, /u/ or @ prefix. One Scrubber may be shared by any number of threads.
    """

    def __init__(self, pseudonym: Callable[[str], str]) -> None:
        self._pseudonym = pseudonym

    def find(self, text: str) -> list[Finding]:
        """Personal data spans in `text` (not handles), sorted by start, not overlapping.

        The same code as `scrub` on a column of one text: ~0.3 ms a call, for tests and
        benchmarks; scrub columns with `scrub`."""
        return _find_all(pa.array([text], pa.large_string()), [text]).get(0, [])

    def scrub_one(
        self, text: str, own_handles: Collection[str] = (), own_pseudonym: str | None = None
    ) -> str:
        """`text` with personal data replaced by placeholders and handles by pseudonyms;
        `scrub` on a column of one text (~0.3 ms a call)."""
        out = self.scrub(pa.array([text], pa.large_string()), own_handles, own_pseudonym)
        return cast(str, out[0].as_py())

    def scrub(
        self, texts: pa.Array, own_handles: Collection[str] = (), own_pseudonym: str | None = None
    ) -> pa.Array:
        """Each text with personal data replaced by placeholders and handles by pseudonyms.

        `texts`: a string or large_string array; the result has its length and type, nulls
        stay null. `own_handles` (any case, with or without u/ or @): the contributor's,
        replaced by `own_pseudonym` (by pseudonym(handle) when it is None), prefixed or bare.
        """
        if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
            raise TypeError(f"scrub takes a string or large_string array, not {texts.type}")
        own = _Own.of(own_handles, own_pseudonym, self._pseudonym)
        signal = _SIGNAL if own is None else f"{_SIGNAL}|{own.signal}"
        mask = pc.fill_null(pc.match_substring_regex(texts, signal), False)
        if not pc.any(mask).as_py():
            return texts
        candidates = pc.filter(texts, mask)
        strings = candidates.to_pylist()
        found = _find_all(candidates, strings)
        mentions_own = (
            set(pc.indices_nonzero(pc.match_substring_regex(candidates, own.signal)).to_pylist())
            if own is not None
            else set()
        )
        pseudonyms = dict(own.names) if own is not None else {}  # this call's: one hash a name

        def name_of(name: str) -> str:
            name = name.lower()
            if name not in pseudonyms:
                pseudonyms[name] = self._pseudonym(name)
            return pseudonyms[name]

        def at_handle(m: re.Match[str]) -> str:
            return "@" + name_of(m[1])

        scrubbed = [
            self._scrub(text, found.get(i, ()), own, i in mentions_own, name_of, at_handle)
            for i, text in enumerate(strings)
        ]
        return pc.replace_with_mask(texts, mask, pa.array(scrubbed, texts.type))

    def _scrub(
        self,
        text: str | None,
        found: Sequence[Finding],
        own: _Own | None,
        mentions_own: bool,
        name_of: Callable[[str], str],
        at_handle: Callable[[re.Match[str]], str],
    ) -> str | None:
        if text is None:
            return None
        if not found and not mentions_own and "/" not in text:  # X handles alone, or nothing
            return _AT_HANDLE.sub(at_handle, text) if "@" in text else text

        # (start, end, replacement): personal data first, then handles, then bare own
        # handles, each kept only where it overlaps nothing kept before it.
        spans = [(f.start, f.end, PLACEHOLDERS[f.kind]) for f in found]

        def handle(start: int, end: int, prefix: str, name: str) -> None:
            if not (spans and _overlaps(spans, start, end)):
                spans.append((start, end, prefix + name_of(name)))

        if "@" in text:
            for m in _AT_HANDLE.finditer(text):
                handle(m.start(), m.end(), "@", m[1])
        if "/" in text:
            for m in _REDDIT_HANDLE.finditer(text):
                at = m.start()
                if at > 0 and text[at - 1] == "/":
                    # "/u/name" starting a token loses its slash; in "reddit.com/u/name" it stays.
                    if not (at > 1 and (text[at - 2] == "/" or _glued(text, at - 1))):
                        at -= 1
                elif _glued(text, at):
                    continue
                handle(at, m.end(), "u/", m[1])
            if ".com/" in text.lower():
                for m in _PROFILE_LINK.finditer(text):
                    at, name = m.start(), m[1] or m[2]
                    if m[2] and at > 0 and (text[at - 1] in ".-" or _glued(text, at)):
                        continue
                    prefix_end = m.start(1) if m[1] else m.start(2)
                    handle(at, m.end(), text[at:prefix_end], name)
        if mentions_own and own is not None:
            for m in own.bare.finditer(text):
                if not _overlaps(spans, m.start(), m.end()):
                    spans.append((m.start(), m.end(), own.names[m.group().lower()]))
        if not spans:
            return text
        spans.sort()
        parts: list[str] = []
        at = 0
        for start, end, replacement in spans:
            parts += (text[at:start], replacement)
            at = end
        parts.append(text[at:])
        return "".join(parts)


def preload() -> None:
    """Build the recognisers now (~1.2 s) rather than on the first text that needs them."""
    _engine()


# --- finding personal data -----------------------------------------------------------------


def _find_all(texts: pa.Array, strings: list[str | None]) -> dict[int, list[Finding]]:
    """Personal data in the texts of `texts` (`strings`: the same, as Python strings), by
    row; rows without any are left out."""
    flags = {
        kind: pc.fill_null(pc.match_substring_regex(texts, signal), False)
        for kind, signal in _KIND_SIGNALS.items()
    }
    out: dict[int, list[Finding]] = {}
    rows = pc.indices_nonzero(functools.reduce(pc.or_, flags.values())).to_pylist()
    if rows:
        wanted = {kind: set(pc.indices_nonzero(mask).to_pylist()) for kind, mask in flags.items()}
        for i in rows:  # a null matches no signal
            kinds = [kind for kind, where in wanted.items() if i in where]
            found = _find(cast(str, strings[i]), kinds)
            if found:
                out[i] = found
    return out


def _find(text: str, kinds: list[str]) -> list[Finding]:
    engine = _engine()
    found: list[Finding] = []
    for kind in kinds:
        if kind == "EMAIL":  # in the tokens holding an @: an address holds no space
            for start, end in _around(text, [m.start() for m in re.finditer("@", text)]):
                found += engine.find(engine.email, text, start, end)
        elif kind == "IP_ADDRESS":
            for start, end in _around(text, [m.start() for m in _IP_TOKEN.finditer(text)]):
                found += engine.find(engine.ip, text, start, end)
        elif kind == "CREDIT_CARD":
            found += engine.find(engine.card, text, 0, len(text))
        elif kind == "IBAN":
            found += engine.find(engine.iban, text, 0, len(text))
    if "PHONE" in kinds:  # last: digits already found as something surer are not read again
        found += _phones(text, found)
    return _without_overlaps(found)


# Farther from its signal than this, no email (254 characters at most) or IP address
# (with a port, ~50) reaches: a token is read at most this far each side of a signal.
REACH = 320
_TOKEN = re.compile(r"\S+")


def _around(text: str, positions: list[int]) -> list[tuple[int, int]]:
    """The spans to read for signals at `positions`: the white-space-free token around
    each, at most REACH characters each side, overlapping spans merged. Linear in the
    text: a long run of signals (`1.2.3.4.` repeated) is read once, in windows."""
    if not positions:
        return []
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    starts = [start for start, _ in tokens]
    spans = []
    for at in positions:
        start, end = tokens[bisect.bisect_right(starts, at) - 1]
        spans.append((max(start, at - REACH), min(end, at + REACH + 1)))
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    # A long span is read in windows of 2 REACH overlapping by REACH (whatever fits in
    # REACH lies whole in one): the recognizers' patterns cost more than linear time on
    # a long run of signals.
    return [
        (at, min(at + 2 * REACH, end))
        for start, end in merged
        for at in range(start, max(start + 1, end - REACH), REACH)
    ]


# --- phone numbers --------------------------------------------------------------------------
# International numbers (after + or 00): any country, 8-15 digits. National numbers: the
# North American plan (10 digits, or 11 after a 1; area code and exchange not starting
# with 0 or 1) and the UK (10-11 digits after the trunk 0). phonenumbers decides validity.


def _phones(text: str, found: list[Finding]) -> list[Finding]:
    phones: list[Finding] = []
    covered = _covering(found, len(text))
    for run in _PHONE_RUN.finditer(text):
        start, end = run.span()
        groups = [g.span() for g in _DIGITS.finditer(text, start, end)]
        plus = text[start] == "+"
        if start > 0 and (text[start - 1] in "+.-/" or _glued(text, start)):
            del groups[0]  # part of a word, a version, a path: "v1.2", "-74.0060", "/123"
            plus = False
        if end < len(text) and _WORD.match(text, end):
            del groups[-1:]  # the last group is glued to a word: "... 38 671044a3"
        # Groups inside a card number, an IBAN, an IP address split the run.
        segment: list[tuple[int, int]] = []
        for group in [*groups, (-1, -1)]:
            if group[0] >= 0 and covered.find(1, group[0], group[1]) < 0:
                segment.append(group)
                continue
            international = plus and bool(segment) and segment[0] == groups[0]
            if sum(e - s for s, e in segment) >= (8 if international else 10):
                phones += _phones_in_run(text, segment, start if international else -1)
            segment = []
    return phones


def _phones_in_run(text: str, groups: list[tuple[int, int]], plus_at: int) -> Iterator[Finding]:
    """The longest valid numbers made of consecutive digit groups, left to right."""
    i = 0
    while i < len(groups):
        ends, digits = [], ""
        for j in range(i, len(groups)):  # the group ranges from i holding at most 17 digits
            digits += text[groups[j][0] : groups[j][1]]
            if len(digits) > 17:
                break
            ends.append((j, digits))
        for j, digits in reversed(ends):
            start, end = groups[i][0], groups[j][1]
            if _in_parentheses(text, groups[i]):  # "(415) 867-5309", not "(415 867 5309)"
                start -= 1
            if _in_parentheses(text, groups[j]):
                end += 1
            if i == 0 and plus_at >= 0:
                start, candidate, region = plus_at, text[plus_at:end], None
                if not 8 <= len(digits) <= 15:
                    continue
            elif i == 0 and text.startswith("00", groups[i][0]):  # not "4000 0062 4716 6564"
                candidate, region = "+" + text[groups[i][0] + 2 : end], None
                if not 10 <= len(digits) <= 17:
                    continue
            elif digits[0] == "0":
                candidate, region = text[start:end], "GB"
                if not 10 <= len(digits) <= 11:
                    continue
            else:
                candidate, region = text[start:end], "US"
                national = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
                if len(national) != 10 or national[0] in "01" or national[3] in "01":
                    continue
            if _valid_phone(candidate, region):
                yield Finding("PHONE", start, end)
                i = j
                break
        i += 1


def _in_parentheses(text: str, group: tuple[int, int]) -> bool:
    return text[group[0] - 1 : group[0]] == "(" and text[group[1] : group[1] + 1] == ")"


def _valid_phone(candidate: str, region: str | None) -> bool:
    phonenumbers = _engine().phonenumbers
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


# --- spans ----------------------------------------------------------------------------------


def _overlaps(spans: list[tuple[int, int, str]], start: int, end: int) -> bool:
    return any(start < e and s < end for s, e, _ in spans)


def _without_overlaps(found: list[Finding]) -> list[Finding]:
    """Of overlapping findings, the surer kind wins (a phone number is the least sure:
    the digits of an IP address, a card number or an IBAN can read as one), then the longer."""
    if len(found) < 2:
        return found
    kept: list[Finding] = []
    taken = bytearray(max(f.end for f in found))  # 1 where a kept finding lies: linear
    for f in sorted(found, key=lambda f: (_PRIORITY[f.kind], f.start - f.end, f.start)):
        if taken.find(1, f.start, f.end) < 0:
            kept.append(f)
            taken[f.start : f.end] = b"\1" * (f.end - f.start)
    return sorted(kept, key=lambda f: f.start)


def _covering(found: list[Finding], size: int) -> bytearray:
    """1 at every position of `text` some finding covers (overlap tests in constant time)."""
    covered = bytearray(size)
    for f in found:
        covered[f.start : f.end] = b"\1" * (f.end - f.start)
    return covered


# --- the recognisers, built once per process ------------------------------------------------


class _Engine:
    """Presidio's recognizers (as configured in the module docstring) and phonenumbers."""

    KINDS: ClassVar[dict[str, str]] = {
        "EMAIL_ADDRESS": "EMAIL",
        "IP_ADDRESS": "IP_ADDRESS",
        "CREDIT_CARD": "CREDIT_CARD",
        "IBAN_CODE": "IBAN",
    }

    def __init__(self) -> None:
        import phonenumbers
        import tldextract
        from presidio_analyzer import Pattern
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            IpRecognizer,
        )

        # The bundled public suffix list: no download, no cache directory.
        extract = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())

        class OfflineEmailRecognizer(EmailRecognizer):
            def validate_result(self, pattern_text: str) -> bool:
                return bool(extract(pattern_text).fqdn)

        mastercard_2 = Pattern(
            "Mastercard 2221-2720",
            r"\b(2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720))"
            r"[- ]?(\d{4})[- ]?(\d{4})[- ]?(\d{4})\b",
            0.3,
        )
        self.phonenumbers: Any = phonenumbers
        self.email: Any = OfflineEmailRecognizer()
        self.card: Any = CreditCardRecognizer(
            patterns=[*CreditCardRecognizer.PATTERNS, mastercard_2]
        )
        self.iban: Any = IbanRecognizer()
        self.ip: Any = IpRecognizer(
            patterns=[p for p in IpRecognizer.PATTERNS if p.name != "IPv6_unspecified"]
        )
        # Compile every pattern and load the metadata now, under the caller's lock.
        for recognizer in (self.email, self.card, self.iban, self.ip):
            sample = "a@example.org 4111 1111 1111 1111 10.0.0.1 ::1 DE89370400440532013000"
            self.find(recognizer, sample, 0, len(sample))
        for number in ("2015550123", "02079460958", "+4930123456"):
            phonenumbers.is_valid_number(
                phonenumbers.parse(number, "US" if number[0] == "2" else "GB")
            )

    def find(self, recognizer: Any, text: str, start: int, end: int) -> list[Finding]:
        """The recognizer's findings in text[start:end] (a window whose ends are the
        text's ends or white space, so the patterns' word boundaries read the same)."""
        window = text[start:end]
        return [
            Finding(self.KINDS[r.entity_type], start + r.start, start + r.end)
            for r in recognizer.analyze(window, recognizer.supported_entities, None)
        ]


_ENGINE: _Engine | None = None
_ENGINE_LOCK = threading.Lock()


def _engine() -> _Engine:
    global _ENGINE
    if _ENGINE is None:
        with _ENGINE_LOCK:
            if _ENGINE is None:
                _ENGINE = _Engine()
    return _ENGINE
