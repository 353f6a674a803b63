"""Type-ahead search over names, titles and tags, fast enough to rerun on every keystroke.

Why not score every key with rapidfuzz: at 100k entities there are 200k keys, and scoring them all
takes a few hundred milliseconds a keystroke; a person typing `d`, `de`, `dem` needs each answer
in a frame (16 ms). So matches are found in tiers, best first, and the search stops as soon as
the page is full:

    0 exact          the key is the query
    1 prefix         the key starts with the query
    2 word prefix    a word inside the key starts with it ("forecast" finds demand-forecast)
    3 substring      the key contains it
    4 every word     the key contains each word of the query, in any order ("forecast demand")
    5 subsequence    the key holds its letters in order ("dmndfcst", "trainng db")
    6 spelling       a query word corrected to a word the catalog uses ("trianing" → training)

Within a tier names come before titles and shorter keys before longer ones; tags are matched by
tiers 0 to 3 after names and titles (a name that contains the query beats a tag equal to it).
Tiers 0 to 3 are plain substring searches in one newline-separated string of every key (sorted in
that order), so the first hits are the best and each tier costs one pass of `str.find` at most.
Tier 4 follows the hits of the query's longest word; tier 5 is one regular expression over the
same string, narrowed from the previous keystroke's matches while the query only grows; tier 6
matches query words against the catalog's vocabulary with rapidfuzz. Keys are lower-cased and every run of separators (space, `-`, `_`, `.`, `/`, …)
becomes one `\x1f`, so `demand forecast` and `demand-forecast` are the same query.

The index is built once per catalog, on the first search (`finder`), and lives on the Catalog
object only: it is never cached on disk.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from heapq import merge
from itertools import accumulate
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph.model import Catalog

SEPARATOR = "\x1f"
_SEPARATORS = " \t\r\n\v\f-_./:,;|\\()[]{}<>'\"`!?*+=&#@~^%$"
_TO_SEPARATOR = str.maketrans(dict.fromkeys(_SEPARATORS, SEPARATOR))
PRIORITY_NAME, PRIORITY_TITLE, PRIORITY_TAG = 0, 1, 2
TIER_EVERY_WORD, TIER_SUBSEQUENCE, TIER_SPELLING = 4, 5, 6
SPELLING_CUTOFF = 75.0  # rapidfuzz ratio a vocabulary word needs to stand in for a query word


@dataclass(frozen=True, slots=True)
class Match:
    ref: str
    score: float
    label: str

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "score": self.score, "label": self.label}


def normalize(text: str) -> str:
    """Lower case, each run of separators one `\x1f`, none at either end."""
    key = text.lower().translate(_TO_SEPARATOR)
    if SEPARATOR + SEPARATOR in key or key.startswith(SEPARATOR) or key.endswith(SEPARATOR):
        key = SEPARATOR.join(part for part in key.split(SEPARATOR) if part)
    return key


_KEEP_NEWLINES = str.maketrans(dict.fromkeys(_SEPARATORS.replace("\n", ""), SEPARATOR))
_EDGE_SEPARATORS = re.compile(f"^{SEPARATOR}+|{SEPARATOR}+$", re.MULTILINE)


def normalize_all(texts: list[str]) -> list[str]:
    """`normalize` of each text, in a few passes over one joined string instead of one call
    each (a quarter of a second saved per 100k names)."""
    joined = "\n".join(texts)
    if joined.count("\n") != max(len(texts) - 1, 0):  # a text holds a newline: one by one
        return [normalize(text) for text in texts]
    joined = joined.lower().translate(_KEEP_NEWLINES)  # ASCII to ASCII: translate's fast path
    while SEPARATOR + SEPARATOR in joined:
        joined = joined.replace(SEPARATOR + SEPARATOR, SEPARATOR)
    if joined.startswith(SEPARATOR) or "\n" + SEPARATOR in joined or SEPARATOR + "\n" in joined:
        joined = _EDGE_SEPARATORS.sub("", joined)
    elif joined.endswith(SEPARATOR):
        joined = joined[:-1]
    return joined.split("\n") if texts else []


def _shortest_first(keys: list[str]) -> list[int]:
    """Positions of `keys` ordered by length, then text: two stable sorts keyed in C."""
    order = sorted(range(len(keys)), key=keys.__getitem__)
    lengths = [len(key) for key in keys]
    order.sort(key=lengths.__getitem__)
    return order


def finder(catalog: Catalog) -> Finder:
    """The catalog's search index, built on first use and kept on the catalog."""
    found = catalog.search_index
    if found is None:
        found = catalog.search_index = Finder(catalog)
    return found  # type: ignore[no-any-return]


class Finder:
    """The search index of one catalog.

    Safe to share between threads: a search only reads the index, and the one thing it keeps
    between calls (tier 5's last matches) is replaced whole, never changed in place.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        table = catalog.table
        names, kinds = table.column("name"), table.column("kind")
        titles = list(table.column("title"))
        rows = [row for row, kind in enumerate(kinds) if kind != "location"]
        name_keys = normalize_all([names[row] for row in rows])
        titled = [row for row in rows if titles[row]]
        title_keys = normalize_all([titles[row] for row in titled])
        name_of = dict(zip(rows, name_keys, strict=True))
        extra = [
            (key, row)
            for key, row in zip(title_keys, titled, strict=True)
            if key and key != name_of[row]
        ]
        name_order = _shortest_first(name_keys)
        title_order = _shortest_first([key for key, _row in extra])
        self._keys = [name_keys[i] for i in name_order] + [extra[i][0] for i in title_order]
        self._sections = ((0, len(name_order)), (len(name_order), len(self._keys)))
        self._rows = array("i", [rows[i] for i in name_order] + [extra[i][1] for i in title_order])
        self._starts = array("q", accumulate((len(key) + 1 for key in self._keys), initial=1))
        self._text = "\n" + "\n".join(self._keys) + "\n"
        # rank of each row among the names, so tag hits come out shortest name first
        rank = [0] * len(table)
        for position, i in enumerate(name_order):
            rank[rows[i]] = position
        tags_column = table.column("tags")
        tag_keys: dict[str, str] = {}
        tag_rows: dict[str, list[int]] = {}
        for row in rows:
            for tag in tags_column[row]:
                key = tag_keys.get(tag)
                if key is None:
                    key = tag_keys[tag] = normalize(tag)
                tag_rows.setdefault(key, []).append(row)
        for found in tag_rows.values():
            found.sort(key=rank.__getitem__)
        self._tags = sorted(tag_rows.items(), key=lambda item: (len(item[0]), item[0]))
        self._rank = rank
        self._vocabulary: list[str] | None = None
        self._narrowed: tuple[str, list[int]] | None = None  # (letters, entries) of tier 4

    # -- searching ------------------------------------------------------------------------------

    def find(self, text: str, limit: int = 20) -> list[Match]:
        """The best `limit` entities for `text`, best first."""
        query = normalize(text)
        if not query or limit <= 0:
            return []
        found: dict[int, tuple[int, str]] = {}  # row → (tier, the key it matched by)
        self._collect(query, limit, found, spelling=True)
        return [self._match(text, row, key) for row, (_tier, key) in found.items()]

    def _collect(
        self, query: str, limit: int, found: dict[int, tuple[int, str]], *, spelling: bool
    ) -> None:
        tiers = (  # (what to look for in the keys, the same test for a tag)
            ("\n" + query + "\n", lambda key: key == query),
            ("\n" + query, lambda key: key.startswith(query)),
            (SEPARATOR + query, lambda key: (SEPARATOR + query) in key),
            (query, lambda key: query in key),
        )
        if self._exact(query, limit, found):
            return
        for tier, (needle, _test) in enumerate(tiers[1:], start=1):
            if self._scan(needle, tier, limit, found):
                return
        for tier, (_needle, test) in enumerate(tiers):
            if self._add_tags(test, tier, limit, found):
                return
        if self._every_word(query, limit, found):
            return
        if self._subsequence(query, limit, found):
            return
        if spelling:
            corrected = self._spelling(query)
            if corrected is not None and corrected != query:
                before = set(found)
                self._collect(corrected, limit, found, spelling=False)
                for row in set(found) - before:
                    found[row] = (TIER_SPELLING, found[row][1])

    def _exact(self, query: str, limit: int, found: dict[int, tuple[int, str]]) -> bool:
        """Tier 0 without a pass over every key: names and titles are each sorted by length,
        so a key equal to the query is the first one in its section that starts with it."""
        text, starts, rows, keys = self._text, self._starts, self._rows, self._keys
        needle = "\n" + query
        for first, end in self._sections:
            if first == end:
                continue
            position = text.find(needle, starts[first] - 1, starts[end])
            entry = bisect_right(starts, position + 1) - 1 if position != -1 else end
            while entry < end and keys[entry] == query:
                row = rows[entry]
                if row not in found:
                    found[row] = (0, query)
                    if len(found) >= limit:
                        return True
                entry += 1
        return False

    def _scan(self, needle: str, tier: int, limit: int, found: dict[int, tuple[int, str]]) -> bool:
        """Hits of `needle` in key order; True once `found` holds `limit` rows."""
        text, starts, rows, keys = self._text, self._starts, self._rows, self._keys
        position = text.find(needle)
        while position != -1:
            entry = bisect_right(starts, position if needle[0] != "\n" else position + 1) - 1
            row = rows[entry]
            if row not in found:
                found[row] = (tier, keys[entry])
                if len(found) >= limit:
                    return True
            position = text.find(needle, starts[entry + 1] - 1)
        return False

    def _add_tags(
        self, test: Any, tier: int, limit: int, found: dict[int, tuple[int, str]]
    ) -> bool:
        lists = [(tag, rows) for tag, rows in self._tags if test(tag)]
        if not lists:
            return False
        rank = self._rank
        tagged: Iterator[tuple[int, str]] = merge(
            *(((row, tag) for row in rows) for tag, rows in lists),
            key=lambda item: rank[item[0]],
        )
        for row, tag in tagged:
            if row not in found:
                found[row] = (tier, tag)
                if len(found) >= limit:
                    return True
        return False

    def _every_word(self, query: str, limit: int, found: dict[int, tuple[int, str]]) -> bool:
        """Tier 4: keys holding every word of a query of several words, in any order."""
        words = query.split(SEPARATOR)
        if len(words) < 2:
            return False
        anchor = max(words, key=len)
        others = [word for word in words if word is not anchor]
        text, starts, rows, keys = self._text, self._starts, self._rows, self._keys
        position = text.find(anchor)
        while position != -1:
            entry = bisect_right(starts, position) - 1
            row = rows[entry]
            key = keys[entry]
            if row not in found and all(word in key for word in others):
                found[row] = (TIER_EVERY_WORD, key)
                if len(found) >= limit:
                    return True
            position = text.find(anchor, starts[entry + 1] - 1)
        return False

    def _subsequence(self, query: str, limit: int, found: dict[int, tuple[int, str]]) -> bool:
        """Tier 5. Every matching entry is listed (not only the first `limit`), so that the next,
        longer query only has to look again at these."""
        letters = query.replace(SEPARATOR, "")
        if len(letters) < 2:
            return False
        pattern = re.compile(
            "".join(
                re.escape(letter)
                + (f"[^\n{re.escape(letters[i + 1])}]*+" if i + 1 < len(letters) else "")
                for i, letter in enumerate(letters)
            )
        )
        keys = self._keys
        previous = self._narrowed
        if previous is not None and letters.startswith(previous[0]):
            entries = [entry for entry in previous[1] if pattern.search(keys[entry])]
        else:
            entries = self._entries_matching(pattern)
        self._narrowed = (letters, entries)
        rows = self._rows
        tags = [(tag, rows_) for tag, rows_ in self._tags if pattern.search(tag)]
        for entry in entries:
            row = rows[entry]
            if row not in found:
                found[row] = (TIER_SUBSEQUENCE, keys[entry])
                if len(found) >= limit:
                    return True
        for tag, tagged in tags:
            for row in tagged:
                if row not in found:
                    found[row] = (TIER_SUBSEQUENCE, tag)
                    if len(found) >= limit:
                        return True
        return False

    def _entries_matching(self, pattern: re.Pattern[str]) -> list[int]:
        entries: list[int] = []
        starts = self._starts
        last = -1
        for hit in pattern.finditer(self._text):
            entry = bisect_right(starts, hit.start()) - 1
            if entry != last:
                entries.append(entry)
                last = entry
        return entries

    def _spelling(self, query: str) -> str | None:
        """The query with each word the catalog does not know replaced by its closest word."""
        from rapidfuzz import fuzz, process

        vocabulary = self._words()
        words = []
        changed = False
        for word in query.split(SEPARATOR):
            at = bisect_left(vocabulary, word)
            if at < len(vocabulary) and vocabulary[at].startswith(word):
                words.append(word)  # a word, or the start of one being typed
                continue
            best = process.extractOne(
                word, vocabulary, scorer=fuzz.ratio, score_cutoff=SPELLING_CUTOFF
            )
            if best is None:
                words.append(word)
            else:
                words.append(best[0])
                changed = True
        return SEPARATOR.join(words) if changed else None

    def _words(self) -> list[str]:
        if self._vocabulary is None:
            words: set[str] = set()
            for key in self._keys:
                words.update(key.split(SEPARATOR))
            for tag, _rows in self._tags:
                words.update(tag.split(SEPARATOR))
            words.discard("")
            self._vocabulary = sorted(words)
        return self._vocabulary

    def _match(self, text: str, row: int, key: str) -> Match:
        from rapidfuzz import fuzz

        table = self.catalog.table
        ref = table.refs[row]
        title = table.column("display_name")[row] or table.column("title")[row]
        label = f"{ref} — {title}" if title else ref
        score = fuzz.WRatio(normalize(text).replace(SEPARATOR, " "), key.replace(SEPARATOR, " "))
        return Match(ref, round(float(score), 1), label)
