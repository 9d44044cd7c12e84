"""Each contribution's value to a renter's task, measured against the renter's validation
sample, and the rental's payment split by those values.

Method: exact KNN-Shapley (Jia et al., "Efficient Task-Specific Data Valuation for
Nearest Neighbor Algorithms", PVLDB 12(11), 2019, Theorem 1). The renter's task is
represented by its sample; the model is K nearest neighbours over hashed word and
word-pair features without stop words (scikit-learn's HashingVectorizer, L2-normalised,
so a dot product is the cosine similarity). The utility of a set of records S for one
sample text x is U(S) = (1/K) * the sum of sim(x, r) over the K records r of S nearest
to x: how well the data covers what the renter needs. The theorem's recursion holds for
any payoff attached to a neighbour (the paper's is the label-match indicator; ours is
the similarity), so the exact Shapley value of every record takes one sort per sample
text: O(N log N), no sampling, no training. A record's value is averaged over the
sample texts; a contribution's value is the sum of its records' values.

Records that nearly repeat an earlier contribution's record (a shared MinHash band key,
the dedup index's rule) are left out: the earlier contributor owns them, as at intake.
A contribution the renter's sample never needed (no shared words) earns ~0.

A sample text that nearly repeats a record of the dataset (cosine similarity at least
COPY_SIMILARITY) is left out: it is the data itself, not the renter's task, and a
renter whose sample copied its own earlier contribution's records would otherwise route
most of its payment back to itself.

Plaintext exists only in the arguments and in memory here; nothing is written.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

K = 5
N_FEATURES = 2**18
COPY_SIMILARITY = 0.9
METHOD = (
    f"exact KNN-Shapley (Jia et al. 2019), K={K}, cosine similarity of HashingVectorizer "
    "features (2^18, words and word pairs, English stop words dropped)"
)


@dataclass(frozen=True)
class ContributionRecords:
    """One live contribution's records, in contribution order."""

    key: str  # the contribution's fingerprint
    texts: list[str]
    band_keys: np.ndarray  # (len(texts), bands) near-duplicate keys
    kinds: list[str]  # each record's kind ("comment", "post", "tweet", "item")


@dataclass(frozen=True)
class Valuation:
    values: dict[str, float]  # contribution key -> value (sum of its records' values)
    records_valued: dict[str, int]  # contribution key -> records that were valued
    copies_dropped: int = 0  # sample texts left out as near copies of dataset records
    # contribution key -> record kind -> (value, records valued): what demand is made of
    by_kind: dict[str, dict[str, tuple[float, int]]] = field(default_factory=dict)


def _vectorizer() -> HashingVectorizer:
    return HashingVectorizer(
        n_features=N_FEATURES,
        ngram_range=(1, 2),
        stop_words="english",
        alternate_sign=False,
        norm="l2",
    )


def knn_shapley(similarity: np.ndarray, k: int = K) -> np.ndarray:
    """Exact Shapley values of N training points under the KNN utility above, from the
    (n_test, N) similarities; averaged over the test points.

    Per test point, with the points sorted by decreasing similarity u_1 >= ... >= u_N:
    s_N = u_N / N and s_i = s_(i+1) + (u_i - u_(i+1)) / K * min(K, i) / i (Theorem 1;
    s_N is u_N / K * min(K, N) / N in general, the paper's u_N / N for K <= N).
    """
    n_test, n = similarity.shape
    values = np.zeros(n)
    if n == 0:
        return values
    ranks = np.arange(1, n)  # i = 1 .. N-1
    factor = np.minimum(k, ranks) / ranks / k
    for row in similarity:
        order = np.argsort(-row, kind="stable")
        u = row[order]
        steps = (u[:-1] - u[1:]) * factor
        s = np.empty(n)
        s[-1] = u[-1] / k * min(k, n) / n
        s[:-1] = s[-1] + np.cumsum(steps[::-1])[::-1]
        values[order] += s
    return values / max(n_test, 1)


def _repeats_earlier(keys: np.ndarray) -> np.ndarray:
    """For each row: does an earlier row share a band key with it?"""
    out = np.zeros(len(keys), bool)
    if not len(keys):
        return out
    flat = keys.ravel()
    rows = np.repeat(np.arange(len(keys)), keys.shape[1])
    order = np.lexsort((rows, flat))  # by key, then row: the first of a key is earliest
    same = flat[order][1:] == flat[order][:-1]
    later = rows[order][1:][same]
    earlier = rows[order][:-1][same]
    out[later[later != earlier]] = True
    return out


def value_contributions(
    contributions: Sequence[ContributionRecords], sample: Sequence[str], k: int = K
) -> Valuation:
    """Every contribution's value to the renter's `sample` texts."""
    texts = [t for c in contributions for t in c.texts]
    owner = np.repeat(np.arange(len(contributions)), [len(c.texts) for c in contributions])
    empty = Valuation({c.key: 0.0 for c in contributions}, {c.key: 0 for c in contributions})
    if not texts or not sample:
        return empty
    keys = np.concatenate([c.band_keys for c in contributions])
    # A row's near copy inside its own contribution is that contributor's, counted once;
    # across contributions the earlier one keeps it.
    kept = ~_repeats_earlier(keys)
    vectorizer = _vectorizer()
    records = vectorizer.transform([t for t, keep in zip(texts, kept, strict=True) if keep])
    queries = vectorizer.transform(list(sample))
    similarity = (queries @ records.T).toarray()
    copies = similarity.max(axis=1, initial=0.0) >= COPY_SIMILARITY
    record_values = knn_shapley(similarity[~copies], k)
    kept_owner = owner[kept]
    totals = np.bincount(kept_owner, weights=record_values, minlength=len(contributions))
    counts = np.bincount(kept_owner, minlength=len(contributions))
    kinds = [k for c in contributions for k in c.kinds]
    by_kind: dict[str, dict[str, tuple[float, int]]] = {c.key: {} for c in contributions}
    kept_kinds = (kind for kind, keep in zip(kinds, kept, strict=True) if keep)
    for i, kind, value in zip(kept_owner.tolist(), kept_kinds, record_values.tolist(), strict=True):
        measured = by_kind[contributions[i].key].get(kind, (0.0, 0))
        by_kind[contributions[i].key][kind] = (measured[0] + value, measured[1] + 1)
    return Valuation(
        {c.key: float(totals[i]) for i, c in enumerate(contributions)},
        {c.key: int(counts[i]) for i, c in enumerate(contributions)},
        int(copies.sum()),
        by_kind,
    )


def split(amount: int, weights: dict[str, float]) -> dict[str, int]:
    """`amount` wei split pro rata to `weights`, each share rounded down (the pool keeps
    the dust, at most one wei per share). Non-positive weights get nothing; if none is
    positive, nothing is split."""
    positive = {key: w for key, w in weights.items() if w > 0}
    if not positive:
        return {key: 0 for key in weights}
    total = sum(positive.values())
    # Integer shares of 10^18 first, so the wei arithmetic below is exact.
    shares = {key: int(w / total * 10**18) for key, w in positive.items()}
    whole = sum(shares.values()) or 1
    return {key: amount * shares.get(key, 0) // whole for key in weights}
