"""Intent accuracy on a set of labelled transcripts, and how long classify() takes.

    .venv/bin/python bench/intent_accuracy.py                       # tests/intent_cases/*.yaml
    .venv/bin/python bench/intent_accuracy.py --set tests/intent_cases/dev
    .venv/bin/python bench/intent_accuracy.py --set DIR --part holdout   # every 4th case of each file
    # honest held-out figures: a model that never saw the held-out cases
    .venv/bin/ivr intents train --part tune --flows-dir /tmp/tune && \
      .venv/bin/python bench/intent_accuracy.py --set DIR --part holdout --model-dir /tmp/tune/intents/model

A set is any folder of <language>.yaml files, each a list of `{text: "...", intent: name}`.
Prints, per language: top-1 accuracy, urgent recall (account takeovers recognised as such) and
false alarms (other cases taken for a takeover), the confusion of the misses (expected -> got),
accuracy by confidence band (to choose when the IVR confirms), and the mean and p95 time of
classify() and urgent_partial(). The output is Markdown, ready for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from ivr.core.running import URGENT_SURE as SURE
from ivr.settings import PROJECT_ROOT
from ivr.speech.intent import URGENT_INTENTS, classify, load_phrasebooks, urgent_partial
from ivr.speech.labelled_cases import HOLDOUT_EVERY, PARTS, read_cases
from ivr.speech.ngram import MODEL_DIR, load_models

CASES_DIR = PROJECT_ROOT / "tests" / "intent_cases"
BANDS = ((0.75, 1.01, "≥ 0.75"), (0.5, 0.75, "0.5–0.75"), (0.0, 0.5, "< 0.5"))
REPEATS = 20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", type=Path, default=CASES_DIR, help="folder of <language>.yaml labelled cases")
    parser.add_argument("--part", choices=PARTS, default="all",
                        help=f"all cases, or the held-out every {HOLDOUT_EVERY}th case, or the rest")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timing runs (0: no timings)")
    parser.add_argument("--no-model", action="store_true", help="the phrasebooks alone, without the n-gram model")
    parser.add_argument("--model-dir", type=Path, default=PROJECT_ROOT / "flows" / MODEL_DIR,
                        help="where the n-gram models are (<language>.json)")
    args = parser.parse_args(argv)
    books, problems = load_phrasebooks(PROJECT_ROOT / "flows")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    files = sorted(args.set.glob("*.yaml"))
    unknown = [path.name for path in files if path.stem not in books]
    if not files or unknown:
        print(f"{args.set}: no <language>.yaml files" if not files else
              f"{args.set}: no phrasebook for {', '.join(unknown)}", file=sys.stderr)
        return 1
    models = {} if args.no_model else load_models(args.model_dir)
    results = {path.stem: measure(books[path.stem], load_cases(path, args.part), args.repeats, models.get(path.stem))
               for path in files}
    how = "phrasebooks and n-gram model" if models else "phrasebooks alone"
    print(f"Set {args.set} ({args.part}), {how}. Python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; classify() times are the best of "
          f"{args.repeats} runs over the set.\n")
    print("| language | cases | correct | top-1 | urgent recall | false alarms | classify mean | classify p95 "
          "| urgent_partial mean |")
    print("|---|---|---|---|---|---|---|---|---|")
    for language, r in results.items():
        print(f"| {language} | {r['cases']} | {r['correct']} | {r['correct'] / r['cases']:.3f} | "
              f"{r['urgent_found']}/{r['urgent']} = {_ratio(r['urgent_found'], r['urgent'])} | "
              f"{r['alarms']}/{r['others']} = {_ratio(r['alarms'], r['others'], percent=True)} | "
              f"{r['mean_ms']:.2f} ms | {r['p95_ms']:.2f} ms | {r['partial_ms']:.2f} ms |")
    total = {key: sum(r[key] for r in results.values()) for key in ("cases", "correct", "urgent", "urgent_found",
                                                                    "others", "alarms")}
    print(f"| all | {total['cases']} | {total['correct']} | {total['correct'] / total['cases']:.3f} | "
          f"{total['urgent_found']}/{total['urgent']} = {_ratio(total['urgent_found'], total['urgent'])} | "
          f"{total['alarms']}/{total['others']} = {_ratio(total['alarms'], total['others'], percent=True)} "
          "| | | |")
    print(f"\nThe confirm-on-doubt band: an urgent guess below {SURE} is asked about (\"press 9 or say yes\"), one "
          "at or above it goes straight to the security path:\n")
    print("| language | takeovers taken at once | false alarms taken at once | false alarms asked about |")
    print("|---|---|---|---|")
    for language, r in [*results.items(), ("all", None)]:
        rows = [r] if r else list(results.values())
        urgent, sure_urgent = sum(x["urgent"] for x in rows), sum(x["sure_urgent"] for x in rows)
        others, sure_alarms = sum(x["others"] for x in rows), sum(x["sure_alarms"] for x in rows)
        asked = sum(x["alarms"] for x in rows) - sure_alarms
        print(f"| {language} | {sure_urgent}/{urgent} = {_ratio(sure_urgent, urgent)} | "
              f"{sure_alarms}/{others} = {_ratio(sure_alarms, others, percent=True)} | "
              f"{asked}/{others} = {_ratio(asked, others, percent=True)} |")
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


def _ratio(part: int, whole: int, percent: bool = False) -> str:
    if not whole:
        return "–"
    return f"{100 * part / whole:.1f} %" if percent else f"{part / whole:.3f}"


def load_cases(path: Path, part: str = "all") -> list[dict]:
    return read_cases(path, part)


def measure(book, cases: list[dict], repeats: int = REPEATS, model=None) -> dict:
    misses: dict[tuple[str, str], list[str]] = {}
    outcomes = []
    sure = {"urgent": 0, "alarms": 0}  # urgent guesses the IVR acts on without asking (confidence >= SURE)
    for case in cases:
        intent = classify(case["text"], book, model)
        outcomes.append((intent.confidence, intent.name == case["intent"]))
        if intent.urgent and intent.confidence >= SURE:
            sure["urgent" if case["intent"] in URGENT_INTENTS else "alarms"] += 1
        if intent.name != case["intent"]:
            misses.setdefault((case["intent"], intent.name), []).append(case["text"])
    texts = [case["text"] for case in cases]
    urgent = [case for case in cases if case["intent"] in URGENT_INTENTS]
    return {
        "cases": len(cases),
        "correct": sum(ok for _, ok in outcomes),
        "urgent": len(urgent),
        "urgent_found": len(urgent) - sum(len(found) for (want, _), found in misses.items()
                                          if want in URGENT_INTENTS),
        "others": len(cases) - len(urgent),
        "alarms": sum(len(found) for (want, got), found in misses.items()
                      if got in URGENT_INTENTS and want not in URGENT_INTENTS),
        "misses": misses,
        "outcomes": outcomes,
        "sure_urgent": sure["urgent"],
        "sure_alarms": sure["alarms"],
        **(timings(texts, book, repeats, model) if repeats else {"mean_ms": 0.0, "p95_ms": 0.0, "partial_ms": 0.0}),
    }


def timings(texts: list[str], book, repeats: int = REPEATS, model=None) -> dict:
    each: dict[str, list[float]] = {}
    runs = []
    for _ in range(repeats):
        run = []
        for text in texts:
            started = time.perf_counter()
            classify(text, book, model)
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
