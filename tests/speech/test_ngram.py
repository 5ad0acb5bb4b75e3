"""The n-gram model beside the phrasebooks: training, the shipped models, how classify() combines
the two, word classes in a phrasebook, `ivr intents train` and the accuracy bench on any set."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from ivr.cli import main
from ivr.flows.phrasebooks import parse_phrasebook
from ivr.settings import PROJECT_ROOT
from ivr.speech.intent import MODEL_CONFIDENCE, classify, load_phrasebooks
from ivr.speech.labelled_cases import read_cases
from ivr.speech.ngram import MODEL_DIR, features, load_models, train

FLOWS_DIR = PROJECT_ROOT / "flows"
CASES = [{"text": t, "intent": i} for t, i in [
    ("someone emptied my wallet", "account_takeover"), ("my coins vanished overnight", "account_takeover"),
    ("a stranger drained everything", "account_takeover"), ("where did all my crypto go", "account_takeover"),
    ("my deposit has not arrived", "deposit"), ("the deposit is still pending", "deposit"),
    ("I sent funds in and they are not showing", "deposit"), ("deposit missing from the bank", "deposit"),
    ("how do I upload my passport", "kyc"), ("my identity check failed", "kyc"),
    ("the selfie verification keeps failing", "kyc"), ("passport photo rejected", "kyc"),
]]


@pytest.fixture(scope="module")
def books():
    found, problems = load_phrasebooks(FLOWS_DIR)
    assert not problems
    return found


def test_a_model_learns_word_pieces_and_reads_unseen_wording():
    model = train(CASES, "en")
    assert model.predict("somebody emptied all my crypto")[0] == "account_takeover"
    assert model.predict("my passport check failed")[0] == "kyc"
    assert model.predict("the deposit still has not arrived")[0] == "deposit"
    assert train(CASES, "en").to_json() == model.to_json()  # the same cases give the same file


def test_pieces_follow_the_language():
    assert "cwal" in features("Wallet!", "en") and "wwallet" in features("wallet", "en")
    assert "c被盗" in features("我的 账户 被盗 了", "zh")
    assert any(piece.startswith("j") for piece in features("해킹 당했어요", "ko"))


def test_every_language_ships_a_model(books):
    models = load_models(FLOWS_DIR / MODEL_DIR)
    assert set(models) == set(books) == {"en", "es", "zh", "yue", "ko"}
    assert all(m.trained_on > 300 for m in models.values())


@pytest.mark.parametrize("language, text", [
    ("en", "my whole stack got nicked out of the account overnight"),
    ("es", "alguien me vació la billetera anoche"),
    ("zh", "一觉醒来钱包里的币全没了"),
])
def test_the_model_alone_hears_a_takeover_the_phrasebook_misses_and_the_caller_confirms_it(books, language, text):
    models = load_models(FLOWS_DIR / MODEL_DIR)
    alone = classify(text, books[language])
    both = classify(text, books[language], models[language])
    if alone.name != "account_takeover":  # what the model adds
        assert both.name == "account_takeover" and both.confidence == MODEL_CONFIDENCE < 0.75
    else:
        assert both.name == "account_takeover"


def test_a_sure_phrase_keeps_its_intent_with_the_model(books):
    models = load_models(FLOWS_DIR / MODEL_DIR)
    found = classify("I can't log in to my account", books["en"], models["en"])
    assert found == classify("I can't log in to my account", books["en"])  # agreeing changes nothing
    calm = classify("I got a login alert but it was me, I just want to check", books["en"], models["en"])
    assert calm.name != "account_takeover"


def test_word_classes_stand_for_each_of_their_words():
    book, problems = parse_phrasebook("en", {
        "units": "words",
        "classes": {"funds": ["money", "coins"], "gone": ["gone", "missing"]},
        "intents": {"account_takeover": {"phrases": ["my {funds} ... {gone}", "my money is gone"]}},
    }, "en.yaml")
    assert not problems
    texts = sorted(p.text for p in book.phrases)
    assert texts == ["my coins ... gone", "my coins ... missing", "my money ... gone", "my money ... missing",
                     "my money is gone"]
    assert classify("all my coins are missing", book).name == "account_takeover"
    _, problems = parse_phrasebook("en", {"intents": {"account_takeover": {"phrases": ["my {wallet} is empty"]}}},
                                   "en.yaml")
    assert ("en.yaml: intent 'account_takeover': phrase 'my {wallet} is empty': no word class 'wallet' under "
            "classes:") in problems


def test_ivr_intents_train_writes_a_model_per_language(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "en.yaml").write_text(yaml.safe_dump(CASES))
    run = CliRunner().invoke(main, ["intents", "train", "--cases", str(cases), "--flows-dir", str(tmp_path)])
    assert run.exit_code == 0, run.output
    assert "en: 12 cases" in run.output
    assert load_models(tmp_path / MODEL_DIR)["en"].predict("my coins vanished")[0] == "account_takeover"
    (cases / "es.yaml").write_text("- {text: hola}\n")
    bad = CliRunner().invoke(main, ["intents", "train", "--cases", str(cases), "--flows-dir", str(tmp_path)])
    assert bad.exit_code != 0 and "es.yaml: each case must be {text: ..., intent: ...}" in bad.output


def test_the_accuracy_bench_scores_any_folder_of_labelled_sets(tmp_path):
    (tmp_path / "en.yaml").write_text(yaml.safe_dump([{"text": "somebody hacked my account",
                                                       "intent": "account_takeover"},
                                                      {"text": "my deposit has not arrived", "intent": "deposit"}]))
    done = subprocess.run([sys.executable, str(PROJECT_ROOT / "bench" / "intent_accuracy.py"), "--set", str(tmp_path),
                           "--repeats", "0"], capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    assert "| en | 2 | 2 | 1.000 | 1/1 = 1.000 | 0/1 = 0.0 % |" in done.stdout


def test_training_on_the_tune_part_leaves_out_exactly_what_the_bench_holds_out(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "en.yaml").write_text(yaml.safe_dump(CASES))
    held = read_cases(cases / "en.yaml", "holdout")
    tune = read_cases(cases / "en.yaml", "tune")
    assert [c["text"] for c in held] == [CASES[3]["text"], CASES[7]["text"], CASES[11]["text"]]
    assert len(tune) == 9 and not {c["text"] for c in tune} & {c["text"] for c in held}
    run = CliRunner().invoke(main, ["intents", "train", "--cases", str(cases), "--part", "tune",
                                    "--flows-dir", str(tmp_path)])
    assert run.exit_code == 0, run.output
    assert "en: 9 cases (tune)" in run.output
    model = load_models(tmp_path / MODEL_DIR)["en"]
    assert model.trained_on == 9
    assert "wpassport" in model.weights and "wrejected" not in model.weights  # "rejected": only in held-out case 12


def test_an_urgent_guess_of_the_model_alone_needs_its_languages_margin():
    from ivr.speech.intent import MODEL_URGENT_MARGIN, MODEL_URGENT_MARGINS, Phrasebook
    from ivr.speech.ngram import NgramModel

    empty = {"intents": {"kyc": {"phrases": ["passport"]}}}
    labels = ("account_takeover", "other")
    between = (MODEL_URGENT_MARGIN + MODEL_URGENT_MARGINS["ko"]) / 2  # enough in English, not in Korean
    en_book, _ = parse_phrasebook("en", {"units": "words", **empty}, "en.yaml")
    ko_book, _ = parse_phrasebook("ko", {"units": "syllables", **empty}, "ko.yaml")
    assert isinstance(en_book, Phrasebook)
    en = NgramModel("en", labels, {"wgana": {"account_takeover": between}})
    ko = NgramModel("ko", labels, {"c가나": {"account_takeover": between}})
    heard = classify("gana", en_book, en)
    assert heard.name == "account_takeover" and heard.confidence == MODEL_CONFIDENCE
    assert classify("가나", ko_book, ko).name == "other"
    louder = NgramModel("ko", labels, {"c가나": {"account_takeover": MODEL_URGENT_MARGINS["ko"] + 1}})
    assert classify("가나", ko_book, louder).name == "account_takeover"


def test_the_model_never_drops_a_takeover_phrase_it_only_makes_the_ivr_ask():
    from ivr.speech.intent import MODEL_OVERRULES
    from ivr.speech.ngram import NgramModel

    book, problems = parse_phrasebook("en", {"units": "words", "intents": {
        "account_takeover": {"phrases": ["my account was hacked"]}, "kyc": {"phrases": ["passport"]}}}, "en.yaml")
    assert not problems
    text = "my account was hacked"
    alone = classify(text, book)
    assert alone.name == "account_takeover" and alone.confidence >= 0.75
    labels = ("account_takeover", "kyc")
    mild = NgramModel("en", labels, {"whacked": {"kyc": MODEL_OVERRULES - 1}})
    assert classify(text, book, mild) == alone  # a sure takeover phrase stays sure
    loud = NgramModel("en", labels, {"whacked": {"kyc": MODEL_OVERRULES + 1}})
    asked = classify(text, book, loud)
    assert asked.name == "account_takeover" and asked.confidence == MODEL_CONFIDENCE < 0.75
    calm, _ = parse_phrasebook("en", {"units": "words", "intents": {"kyc": {"phrases": ["passport"]}}}, "en.yaml")
    assert classify("my passport", calm, NgramModel("en", labels, {"wpassport": {"account_takeover": 1.0}})).name \
        == "kyc"  # the other way round nothing changed: a sure kyc phrase keeps its intent
