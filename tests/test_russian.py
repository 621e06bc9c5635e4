"""Russian end to end: the language found at import, Russian speaker labels, sentences,
lemmas, negation, patterns per language, names in every case. Every Russian text here is
fictional, written for these tests (corpora/ru is too)."""

import json

import pytest

from conftest import REPO, write
from qcode.codebook.model import codebook_from_text
from qcode.codebook.sync import sync
from qcode.errors import CodebookError
from qcode.ingest.importer import ImportOptions, import_file
from qcode.ingest.language import detect_language
from qcode.ingest.segment import split_sentences
from qcode.ingest.turns import detect_turns
from qcode.nlp.run import SuggestOptions, run_suggestions
from qcode.nlp.units import is_interviewer

RU_TRANSCRIPT = REPO / "corpora" / "ru" / "r01-clinic-tver.txt"
RU = ("Интервьюер: Вы доверяете местной власти?\n"
      "Респондент: Честно говоря, нет. Я не доверяю чиновникам, но соседям я доверяю, "
      "потому что они всегда помогают. Чиновники к нам и не приходили.\n")
EN = ("Interviewer: Do you trust the local council?\n"
      "Respondent: Honestly, no. I don't trust the officials, but I trust my neighbours "
      "because they always help.\n")
UK = ("Інтерв'юер: Ви довіряєте місцевій владі?\n"
      "Респондент: Чесно кажучи, ні. Я не довіряю чиновникам, але сусідам я довіряю, "
      "тому що вони завжди допомагають, і це дуже важливо для мене.\n")

CODEBOOK = """
name: trust
codes:
  - name: trust
    patterns:
      en: [trust]
      ru: [доверять, доверие, {phrase: полагаться на}]
    negated: distrust
  - name: distrust
    patterns: [distrust, недоверие]
  - name: institutions
    patterns:
      ru: [суд, чиновник]
"""


# -- language ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "language"), [(RU, "ru"), (EN, "en"), (UK, "uk")])
def test_detect_language_by_script_and_common_words(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["Да. Нет.", "Anna Petrova, Boris Ivanov, Galina Orlova",
                                  "12:00 13:00 14:30", "Ok. Да. Yes. Нет, no."])
def test_detect_language_is_unsure_of_thin_evidence(text):
    assert detect_language(text) is None


def test_a_cp1251_russian_transcript_is_stored_as_russian_with_a_warning(project, tmp_path):
    path = write(tmp_path / "r01.txt", RU_TRANSCRIPT.read_text("utf-8").encode("cp1251"))
    result = import_file(project.db, path, "r01", ImportOptions(default_language="en"))
    assert result.encoding == "cp1251"
    assert any("'ru'" in w and "default 'en'" in w for w in result.warnings), result.warnings
    assert project.db.execute("SELECT language FROM documents").fetchone()[0] == "ru"


def test_front_matter_or_the_option_wins_over_the_detected_language(project, tmp_path):
    said = import_file(project.db, write(tmp_path / "a.md", f"---\nlanguage: en\n---\n{RU}"),
                       "a", ImportOptions(default_language="en"))
    told = import_file(project.db, write(tmp_path / "b.txt", RU.replace("?", "?!")), "b",
                       ImportOptions(language="en", default_language="en"))
    same = import_file(project.db, write(tmp_path / "c.txt", RU.replace("?", "??")), "c",
                       ImportOptions(default_language="ru"))
    english = import_file(project.db, write(tmp_path / "d.txt", EN), "d",
                          ImportOptions(default_language="en"))
    assert not said.warnings + told.warnings + same.warnings + english.warnings
    langs = dict(project.db.execute("SELECT name, language FROM documents").fetchall())
    assert langs == {"a": "en", "b": "en", "c": "ru", "d": "en"}


# -- speaker labels, sentences, lemmas --------------------------------------------------

def test_russian_speaker_labels_and_interviewer_roles():
    text = "И: Как давно вы здесь живёте?\nР: Лет десять.\nИ: А соседи?\nР: Хорошие люди.\n"
    assert [t.speaker for t in detect_turns(text)] == ["И", "Р", "И", "Р"]
    full = detect_turns(RU_TRANSCRIPT.read_text("utf-8"))
    assert {t.speaker for t in full} == {"Интервьюер", "Респондент"}
    assert is_interviewer("И") and is_interviewer("Интервьюер") and is_interviewer("В")
    assert not is_interviewer("Р") and not is_interviewer("Респондент")


def test_russian_sentences_do_not_end_at_abbreviations():
    text = ("Это было в 2018 г., т. е. давно, см. протокол. Суд — другое дело! А вы? "
            "Ну… не знаю.")
    turns = detect_turns(text)
    sentences = [text[s:e] for _, s, e in split_sentences(text, turns, "ru")]
    assert sentences == ["Это было в 2018 г., т. е. давно, см. протокол.", "Суд — другое дело!",
                         "А вы?", "Ну… не знаю."]


def test_russian_lemmas_from_the_lookup_table_with_its_errors_fixed():
    from qcode.nlp.pipeline import analyzer

    words = analyzer("ru").analyse(["Я не доверяю судам и полиции, ещё меньше — властям."])[1][0]
    lemmas = {w.lower: w.lemma for w in words}
    assert lemmas["доверяю"] == "доверять" and lemmas["судам"] == "суд"
    assert lemmas["полиции"] == "полиция" and lemmas["властям"] == "власть"
    assert lemmas["ещё"] == "еще" and lemmas["—"] == "—"


# -- patterns per language and negation -------------------------------------------------

def test_patterns_per_language_validate_and_the_list_form_still_does():
    book = codebook_from_text(CODEBOOK)
    assert book.by_path()["trust"].spec.patterns["ru"][0] == "доверять"
    assert book.by_path()["distrust"].spec.patterns == ["distrust", "недоверие"]
    with pytest.raises(CodebookError, match=r"language codes such as en or ru; 'English'"):
        codebook_from_text("name: x\ncodes:\n  - name: a\n    patterns:\n"
                           "      English: [trust]\n")
    with pytest.raises(CodebookError, match=r":6: .*colour"):
        codebook_from_text("name: x\ncodes:\n  - name: a\n    patterns:\n      ru:\n"
                           "        - {phrase: доверять, colour: red}\n")


def suggested(project, tmp_path, texts: dict[str, str]) -> set[tuple[str, str, str]]:
    sync(project.db, codebook_from_text(CODEBOOK))
    for name, text in texts.items():
        import_file(project.db, write(tmp_path / f"{name}.txt", text), name,
                    ImportOptions(default_language="en"))
    run_suggestions(project, SuggestOptions(using=("rules",), min_score=0.0, jobs=1))
    return {(r["name"], r["path"], r["rationale"]) for r in project.db.query(
        "SELECT d.name, c.path, s.rationale FROM suggestions s JOIN codes c "
        "ON c.id = s.code_id JOIN documents d ON d.id = s.document_id")}


def test_each_document_gets_its_languages_patterns_and_russian_negation(project, tmp_path):
    found = suggested(project, tmp_path, {"ru": RU, "en": EN})
    assert ("ru", "trust", "rules: matched “доверяю”") in found
    assert ("ru", "distrust", "rules: negated “доверяю” (→ distrust)") in found
    assert ("ru", "institutions", "rules: matched “Чиновники”") in found
    assert ("en", "trust", "rules: matched “trust”") in found
    assert ("en", "distrust", "rules: negated “trust” (→ distrust)") in found
    # the English document never gets the Russian patterns, nor the Russian the English
    assert not {f for f in found if f[0] == "en" and f[1] == "institutions"}
    stored = json.loads(project.db.execute(
        "SELECT patterns FROM codes WHERE path = 'trust'").fetchone()[0])
    assert stored == {"en": ["trust"], "ru": ["доверять", "доверие",
                                              {"phrase": "полагаться на", "attr": "LEMMA"}]}


def test_russian_negation_cues(project, tmp_path):
    text = ("Интервьюер: А суду?\nРеспондент: Никогда не доверяла суду. Ни капли доверия.\n\n"
            "Нет доверия и полиции.\n\nЯ полагаюсь на друзей. Доверие к соседям есть. "
            "Но чиновникам нельзя доверять.\n")
    found = suggested(project, tmp_path, {"r": text})
    by_sentence = {}
    for _, path, rationale in found:
        by_sentence.setdefault(rationale.split("“")[1].split("”")[0], set()).add(path)
    assert by_sentence == {"доверяла": {"distrust"}, "доверия": {"distrust"},
                           "полагаюсь на": {"trust"}, "Доверие": {"trust"},
                           "доверять": {"distrust"}, "чиновникам": {"institutions"}}
    assert ("r", "distrust", "rules: negated “доверия” (→ distrust)") in found


# -- anonymize --------------------------------------------------------------------------

def test_russian_names_are_replaced_in_every_case():
    from qcode.anonymize import pseudonymize

    names = {"Иван Сергеевич Морозов": "Пётр Ильич Орлов", "Иван Сергеевич": "Пётр Ильич",
             "Морозов": "Орлов", "Галина Петровна": "Person 2", "Кузьмина": "Соколова"}
    text = ("С Иваном Сергеевичем мы ходили в министерство, и Морозову там сказали: "
            "денег нет. Ивана Сергеевича Морозова знают все. Галину Петровну и Галине "
            "Петровне, о Галине Петровне; Кузьминой позвонили, Кузьмину видели.")
    assert pseudonymize(text, names) == (
        "С Петром Ильичем мы ходили в министерство, и Орлову там сказали: денег нет. "
        "Петра Ильича Орлова знают все. Person 2 и Person 2, о Person 2; Соколовой "
        "позвонили, Соколову видели.")
    assert pseudonymize("морозов день, Ивановка", names) == "морозов день, Ивановка"


def test_apply_replaces_russian_names_in_every_case_in_the_transcript(project, tmp_path):
    from qcode.anonymize import apply
    from qcode.documents import resolve_document

    import_file(project.db, write(tmp_path / "r01.txt", RU_TRANSCRIPT.read_text("utf-8")),
                "r01", ImportOptions(default_language="en"))
    result = apply(project.db, {"Иван Сергеевич": "Пётр Ильич", "Морозов": "Орлов",
                                "Галина Петровна": "Person 2"}, coder="tester")
    text = resolve_document(project.db, "r01")["text"]
    assert result.documents == ["r01"]
    assert "Пётр Ильич Орлов, врач" in text and "С Петром Ильичем мы" in text
    assert "и Орлову там" in text and "и Person 2, моя соседка" in text
    assert not {"Иван", "Морозов", "Галин"} & set(text.replace(",", " ").split()) and \
        "Морозов" not in text and "Иван" not in text


@pytest.mark.parametrize(("name", "forms"), [
    ("Иван Петрович", ["Ивана Петровича", "Ивану Петровичу", "Иваном Петровичем",
                       "Иване Петровиче"]),
    ("Мария Ивановна", ["Марии Ивановны", "Марию Ивановну", "Марией Ивановной"]),
    ("Сергей Кузнецов", ["Сергея Кузнецова", "Сергею Кузнецову", "Сергеем Кузнецовым"]),
    ("Ольга Петрова", ["Ольги Петровой", "Ольгу Петрову", "Ольгой Петровой"]),
    ("Юрий Лебедев", ["Юрия Лебедева", "Юрием Лебедевым", "Юрии Лебедеве"]),
    ("Анна Шевченко", ["Анны Шевченко", "Анной Шевченко"]),
    ("Марина Ильина", ["Марины Ильиной", "Марину Ильину"]),
    ("Олег Невский", ["Олега Невского", "Олегом Невским"])])
def test_case_forms_of_russian_names(name, forms):
    from qcode.anonymize import case_forms

    every = {f for variants in case_forms(name).values() for f in variants}
    assert set(forms) <= every


def test_scan_counts_the_cases_of_a_russian_name_under_one(project, tmp_path):
    from qcode.anonymize import scan

    import_file(project.db, write(tmp_path / "r01.txt", RU_TRANSCRIPT.read_text("utf-8")),
                "r01", ImportOptions(default_language="en"))
    import_file(project.db, write(tmp_path / "r02.txt", (
        "Интервьюер: А потом?\nРеспондент: Потом мы позвали Галину Петровну, и Галине "
        "Петровне всё объяснили. С Галиной Петровной спорить трудно.\n")), "r02",
        ImportOptions(default_language="en"))
    found = {c.name: c for c in scan(project.db)}
    assert found["Галина Петровна"].count == 4 and found["Галина Петровна"].documents == 2
    assert not {"Галину Петровну", "Галине Петровне", "Галиной Петровной"} & set(found)
    # forms of other names than those listed are listed on their own, for review
    assert {"Иван Сергеевич Морозов", "Иваном Сергеевичем", "Морозову"} <= set(found)


# -- the whole path, through the CLI ----------------------------------------------------

def test_cli_import_cp1251_russian_then_suggest_with_negation(cli, project, tmp_path):
    write(project.root / "codebook.yaml", CODEBOOK)
    assert cli("codebook", "sync").exit_code == 0
    path = write(tmp_path / "r01-clinic-tver.txt",
                 RU_TRANSCRIPT.read_text("utf-8").encode("cp1251"))
    out = cli("import", path)
    assert out.exit_code == 0, out.output
    assert "decoded as cp1251" in out.stderr
    assert "is in language 'ru', not the project's default 'en'" in out.stderr
    docs = json.loads(cli("docs", "--format", "json").stdout)
    assert [d["language"] for d in docs] == ["ru"]
    assert cli("suggest", "--using", "rules", "--min-score", "0", "--jobs", "1").exit_code == 0
    found = {(r["path"], r["rationale"]) for r in project.db.query(
        "SELECT c.path, s.rationale, s.start, s.\"end\" FROM suggestions s "
        "JOIN codes c ON c.id = s.code_id")}
    assert ("trust", "rules: matched “доверяю”") in found
    assert ("distrust", "rules: negated “доверяю” (→ distrust)") in found
    assert ("distrust", "rules: negated “верила”") not in found
    assert ("institutions", "rules: matched “суд”, “судам”") in found
