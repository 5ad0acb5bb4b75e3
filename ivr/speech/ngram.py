"""A second opinion on what the caller is calling about: a small character n-gram classifier.

The phrasebooks (`intent`) recognise the shapes a support team wrote down; callers say the same
things in many other ways. This model is trained on the labelled transcripts (tests/intent_cases/,
its dev/ set included) and reads any wording by its pieces: letter sequences of 2-5 and words and
word pairs in English and Spanish, characters 1-3 in Chinese, syllables 1-3 and letters (jamo) 2-4
in Korean. It is an averaged perceptron, a linear model: one weight per (intent, piece), stored as
JSON in flows/intents/model/<language>.json and rebuilt with `ivr intents train`.

Pure Python, no framework; `intent.classify` combines it with the phrasebook.
"""
from __future__ import annotations

import json
import random
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

MODEL_DIR = Path("intents") / "model"  # under the flows folder
EPOCHS = 20
SEEDS = (0, 1, 2)  # one perceptron per shuffling order, averaged: steadier than any one of them
# (training is deterministic: the same cases give the same file)
_PUNCTUATION = re.compile(r"[^\w\s']")
_SPACED = frozenset({"en", "es"})


def features(text: str, language: str) -> Counter:
    """The pieces of `text` the model weighs, counted."""
    text = " ".join(_PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", text).lower()).split())
    found: Counter = Counter()
    if language in _SPACED:
        padded = f" {text} "
        for n in range(2, 6):
            found.update("c" + padded[i:i + n] for i in range(len(padded) - n + 1))
        words = text.split()
        found.update("w" + word for word in words)
        found.update(f"b{a} {b}" for a, b in zip(words, words[1:]))
        return found
    joined = text.replace(" ", "")
    if language == "ko":
        letters = unicodedata.normalize("NFD", joined)
        for n in range(2, 5):
            found.update("j" + letters[i:i + n] for i in range(len(letters) - n + 1))
    for n in range(1, 4):
        found.update("c" + joined[i:i + n] for i in range(len(joined) - n + 1))
    return found


@dataclass(frozen=True)
class NgramModel:
    language: str
    labels: tuple[str, ...]
    weights: dict[str, dict[str, float]]  # piece -> intent -> weight
    trained_on: int = 0

    def scores(self, text: str) -> dict[str, float]:
        totals = dict.fromkeys(self.labels, 0.0)
        for piece, count in features(text, self.language).items():
            for label, weight in self.weights.get(piece, {}).items():
                totals[label] += weight * count
        return totals

    def predict(self, text: str) -> tuple[str, float]:
        """The intent with the highest score, and its margin over the next (0 when nothing is known)."""
        ranked = sorted(self.scores(text).items(), key=lambda item: -item[1])
        if not ranked or ranked[0][1] == 0.0:
            return "other", 0.0
        return ranked[0][0], ranked[0][1] - (ranked[1][1] if len(ranked) > 1 else 0.0)

    def runner_up(self, text: str) -> str:
        """The intent with the second highest score."""
        ranked = sorted(self.scores(text).items(), key=lambda item: -item[1])
        return ranked[1][0] if len(ranked) > 1 else "other"

    def to_json(self) -> str:
        return json.dumps({"language": self.language, "labels": list(self.labels), "trained_on": self.trained_on,
                           "weights": self.weights}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def train(cases: list[dict], language: str, epochs: int = EPOCHS) -> NgramModel:
    """Averaged perceptrons over the cases' pieces (`cases` are {text, intent}), one per seed, averaged."""
    data = [(features(case["text"], language), case["intent"]) for case in cases]
    labels = tuple(sorted({label for _, label in data}))
    summed: dict[str, dict[str, float]] = {}
    for seed in SEEDS:
        for piece, by_label in _perceptron(data, labels, epochs, seed).items():
            for label, weight in by_label.items():
                summed.setdefault(piece, {})[label] = summed.get(piece, {}).get(label, 0.0) + weight / len(SEEDS)
    weights = {piece: {label: round(w, 4) for label, w in by_label.items() if abs(w) >= 1e-3}
               for piece, by_label in summed.items()}
    return NgramModel(language, labels, {piece: w for piece, w in weights.items() if w}, len(data))


def _perceptron(data: list[tuple[Counter, str]], labels: tuple[str, ...], epochs: int,
                seed: int) -> dict[str, dict[str, float]]:
    data = list(data)
    weights: dict[tuple[str, str], float] = defaultdict(float)
    totals: dict[tuple[str, str], float] = defaultdict(float)  # for the average, updated lazily
    stamps: dict[tuple[str, str], int] = defaultdict(int)
    clock = 1

    def nudge(key: tuple[str, str], by: float) -> None:
        totals[key] += (clock - stamps[key]) * weights[key]
        stamps[key] = clock
        weights[key] += by

    order = random.Random(seed)
    for _ in range(epochs):
        order.shuffle(data)
        for pieces, label in data:
            scores = dict.fromkeys(labels, 0.0)
            for piece, count in pieces.items():
                for guess in labels:
                    scores[guess] += weights.get((guess, piece), 0.0) * count
            guessed = max(labels, key=lambda name: (scores[name], name != label))  # a tie is a mistake
            if guessed != label:
                for piece, count in pieces.items():
                    nudge((label, piece), count)
                    nudge((guessed, piece), -count)
            clock += 1
    averaged: dict[str, dict[str, float]] = {}
    for (label, piece), weight in weights.items():
        mean = (totals[label, piece] + (clock - stamps[label, piece]) * weight) / clock
        if abs(mean) >= 1e-3:
            averaged.setdefault(piece, {})[label] = mean
    return averaged


def load_models(folder: Path) -> dict[str, NgramModel]:
    """The models in `folder` (<language>.json), by language; none if the folder is missing."""
    models = {}
    for path in sorted(Path(folder).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        models[path.stem] = NgramModel(data["language"], tuple(data["labels"]), data["weights"],
                                       data.get("trained_on", 0))
    return models
