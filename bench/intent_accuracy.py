"""Intent accuracy on the labelled transcripts in tests/intent_cases/, and how long classify() takes.

    .venv/bin/python bench/intent_accuracy.py

Prints, per language: accuracy, the confusion of the misses (expected -> got), accuracy by confidence
band (to choose when the IVR confirms), and the mean and p95 time of classify() and urgent_partial().
The output is Markdown, ready for bench/RESULTS.md.
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time

import yaml

from ivr.settings import PROJECT_ROOT
from ivr.speech.intent import classify, load_phrasebooks, urgent_partial

CASES_DIR = PROJECT_ROOT / "tests" / "intent_cases"
BANDS = ((0.75, 1.01, "≥ 0.75"), (0.5, 0.75, "0.5–0.75"), (0.0, 0.5, "< 0.5"))
REPEATS = 20


def main() -> int:
    books, problems = load_phrasebooks(PROJECT_ROOT / "flows")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    languages = [path.stem for path in sorted(CASES_DIR.glob("*.yaml")) if path.stem in books]
    results = {language: measure(books[language], load_cases(language)) for language in languages}
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; classify() times are the best of {REPEATS} runs over the labelled set.\n")
    print("| language | cases | correct | accuracy | classify mean | classify p95 | urgent_partial mean |")
    print("|---|---|---|---|---|---|---|")
    for language, r in results.items():
        print(f"| {language} | {r['cases']} | {r['correct']} | {r['correct'] / r['cases']:.3f} | "
              f"{r['mean_ms']:.2f} ms | {r['p95_ms']:.2f} ms | {r['partial_ms']:.2f} ms |")
    print("\nAccuracy by confidence band (all languages):\n")
    print("| confidence | cases | accuracy |")
    print("|---|---|---|")
    outcomes = [outcome for r in results.values() for outcome in r["outcomes"]]
    for low, high, label in BANDS:
        band = [ok for confidence, ok in outcomes if low <= confidence < high]
        accuracy = f"{sum(band) / len(band):.3f}" if band else "–"
        print(f"| {label} | {len(band)} | {accuracy} |")
    print("\nMisses (expected → got):\n")
    for language, r in results.items():
        if not r["misses"]:
            print(f"- {language}: none")
        for (want, got), texts in sorted(r["misses"].items()):
            print(f"- {language}: {want} → {got} ×{len(texts)}: " + "; ".join(f"“{t}”" for t in texts))
    return 0


def load_cases(language: str) -> list[dict]:
    return yaml.safe_load((CASES_DIR / f"{language}.yaml").read_text(encoding="utf-8"))


def measure(book, cases: list[dict]) -> dict:
    misses: dict[tuple[str, str], list[str]] = {}
    outcomes = []
    for case in cases:
        intent = classify(case["text"], book)
        outcomes.append((intent.confidence, intent.name == case["intent"]))
        if intent.name != case["intent"]:
            misses.setdefault((case["intent"], intent.name), []).append(case["text"])
    texts = [case["text"] for case in cases]
    return {
        "cases": len(cases),
        "correct": sum(ok for _, ok in outcomes),
        "misses": misses,
        "outcomes": outcomes,
        **timings(texts, book),
    }


def timings(texts: list[str], book) -> dict:
    each: dict[str, list[float]] = {}
    runs = []
    for _ in range(REPEATS):
        run = []
        for text in texts:
            started = time.perf_counter()
            classify(text, book)
            run.append(time.perf_counter() - started)
            each.setdefault(text, []).append(run[-1])
        runs.append(statistics.fmean(run))
    best = [min(times) for times in each.values()]
    partial = []
    for text in texts:
        started = time.perf_counter()
        urgent_partial(text, book)
        partial.append(time.perf_counter() - started)
    return {
        "mean_ms": min(runs) * 1000,
        "p95_ms": statistics.quantiles(best, n=20)[-1] * 1000,
        "partial_ms": statistics.fmean(partial) * 1000,
    }


if __name__ == "__main__":
    raise SystemExit(main())
