"""The suggestions' scores, context, explanations and learning loop (issue 14)."""

import json
import random

import numpy
import pytest

from conftest import write
from qcode.codebook.model import codebook_from_text
from qcode.codebook.sync import sync
from qcode.coding import add_coding
from qcode.ingest.importer import ImportOptions, import_paths
from qcode.nlp.evaluate import evaluate
from qcode.nlp.models import load_model, train
from qcode.nlp.run import SuggestOptions, run_suggestions
from qcode.review import bulk, queue
from qcode.suggestions import accept, reject

FILLER = ["The office opened at nine.", "We took the bus to the centre.",
          "The weather was cold that winter.", "My sister studies chemistry.",
          "There were forms to fill in.", "The meeting lasted two hours.",
          "Our street has a small bakery.", "Prices went up again in spring."]


def suggested(db, run_id=None):
    return [dict(r) for r in db.query(
        "SELECT s.*, c.path, substr(r.text, s.start + 1, s.\"end\" - s.start) AS text "
        "FROM suggestions s JOIN codes c ON c.id = s.code_id "
        "JOIN revisions r ON r.id = s.revision_id "
        + ("WHERE s.run_id = ? " if run_id else "") + "ORDER BY s.id",
        [run_id] if run_id else [])]


def interviews(folder, documents, rng, river_share=0.35):
    """Transcripts of Interviewer/Respondent turns; some answers mention the river."""
    for d in range(documents):
        lines = []
        for t in range(10):
            lines.append("Interviewer: Tell me about your week there.")
            answer = rng.choice(FILLER)
            if rng.random() < river_share:
                answer = rng.choice(["We walked along the river in the evening.",
                                     "The river was high after the rain.",
                                     "Boats moved slowly down the river."])
            lines.append(f"Respondent: {answer} {rng.choice(FILLER)}")
        write(folder / f"i{d:02d}.txt", "\n".join(lines) + "\n")
    return folder


RIVER_YAML = """name: t
codes:
  - name: water
    description: Talk of rivers, lakes and boats.
  - name: paperwork
    description: Forms, offices and bureaucracy.
    patterns: [forms]
"""


def sentences_of(db):
    """(document name, sentence number, text) of every sentence, in reading order."""
    return db.execute(
        "SELECT d.name, s.number, substr(r.text, s.start + 1, s.\"end\" - s.start) FROM "
        "segments s JOIN current_revisions r ON r.id = s.revision_id JOIN documents d ON "
        "d.id = r.document_id WHERE s.kind = 'sentence' ORDER BY d.name, s.number").fetchall()


def coded_river_project(project, tmp_path, documents=12, precision=0.7, seed=3):
    """Each river sentence coded `water` with probability *precision*: what a code with
    that precision among river sentences looks like."""
    rng = random.Random(seed)
    sync(project.db, codebook_from_text(RIVER_YAML))
    import_paths(project.db, [interviews(tmp_path / "t", documents, rng)], ImportOptions())
    db = project.db
    river = 0
    for name, number, text in sentences_of(db):
        if "river" in text:
            river += 1
            if rng.random() < precision:
                add_coding(db, name, "water", coder="anna", segment=number)
        elif "forms" in text:
            add_coding(db, name, "paperwork", coder="anna", segment=number)
    return river


def test_model_scores_are_calibrated_probabilities_with_their_reasons(project, tmp_path):
    coded_river_project(project, tmp_path, documents=16, precision=0.7)
    result = train(project, coder="anna")
    assert set(result.positives) == {"water", "paperwork"}
    model = load_model(project.db)
    from qcode.nlp.features import Vectorizer  # noqa: F401  (the rows below are its input)

    rows = [{"w": ["river", "evening", "walk"], "q": ["tell", "week"]},
            {"w": ["boat", "move", "slowly", "river"], "q": ["tell", "week"]},
            {"w": ["sister", "study", "chemistry"], "q": ["tell", "week"]}]
    water = model.labels.index(project.db.execute(
        "SELECT guid FROM codes WHERE path = 'water'").fetchone()[0])
    p = model.probabilities(rows)[:, water]
    assert p[0] == pytest.approx(0.7, abs=0.15) and p[1] == pytest.approx(0.7, abs=0.15)
    assert p[2] < 0.1
    # stored suggestions say which words made them
    run = run_suggestions(project, SuggestOptions(using=("model",)))
    river = [s for s in suggested(project.db, run.run_id) if s["path"] == "water"]
    assert river and all("river" in s["text"] for s in river)
    for s in river:
        evidence = json.loads(s["evidence"])
        assert evidence[0][:2] == ["model", "w:river"] and evidence[0][2] > 0
        assert "from “river” +" in s["rationale"]


def test_rule_scores_follow_the_precision_of_your_decisions(project, tmp_path):
    sync(project.db, codebook_from_text("name: t\ncodes:\n  - name: appeals\n"
                                        "    patterns: [petition]\n"))
    lines = [f"Respondent: We signed petition number {i} in the yard." for i in range(60)]
    import_paths(project.db, [write(tmp_path / "p.txt", "\n".join(lines))], ImportOptions())
    first = run_suggestions(project, SuggestOptions(using=("rules",)))
    rows = suggested(project.db, first.run_id)
    assert {r["score"] for r in rows} == {0.5}  # the prior: no decisions yet
    decided = rows[:40]
    for i, row in enumerate(decided):  # 12 of 40 accepted: a pattern of precision 0.3
        (accept if i % 10 < 3 else reject)(project.db, row["id"], coder="anna")
    from qcode.nlp.active import rescore_pending

    assert rescore_pending(project) == 20
    scores = {s["score"] for s in queue(project.db)}
    assert len(scores) == 1 and scores.pop() == pytest.approx(0.3, abs=0.03)


def test_interviewer_turns_are_not_suggested_and_never_accepted_in_bulk(project, tmp_path):
    sync(project.db, codebook_from_text("name: t\ncodes:\n  - name: trust\n"
                                        "    patterns: [trust the court]\n"))
    text = ("Interviewer: Do you trust the courts?\n"
            "Respondent: I trust the courts, mostly.\n"
            "Q: And do you trust the courts in Perm?\n")
    import_paths(project.db, [write(tmp_path / "d.txt", text)], ImportOptions())
    run_suggestions(project, SuggestOptions(using=("rules",)))
    assert [s["text"] for s in suggested(project.db)] == ["I trust the courts, mostly."]
    project.config.suggest.interviewer_turns = True  # qcode.yaml: suggest them too
    project.db.execute("DELETE FROM suggestions")
    run_suggestions(project, SuggestOptions(using=("rules",)))
    assert len(suggested(project.db)) == 3
    names = project.config.suggest.interviewer_names
    result = bulk(project.db, coder="anna", accept_above=0.0, interviewer_names=names)
    assert [s["speaker"] for s in result.decided] == ["Respondent"]
    assert result.interviewer == 2
    assert [s["interviewer"] for s in queue(project.db, interviewer_names=names)] == [True, True]


def test_speakers_named_in_qcode_yaml_are_interviewers_too(project, tmp_path):
    from qcode.nlp.units import is_interviewer

    assert is_interviewer("Interviewer 2") and is_interviewer("МОДЕРАТОР")
    assert not is_interviewer("Irina") and not is_interviewer(None)
    assert is_interviewer("Anna", frozenset({"anna"}))


@pytest.mark.parametrize("text, found", [
    ("We signed the petiton together.", {"petition"}),            # a misspelling
    ("They were different people.", set()),                     # a real word inside...
    ("I am indiferent to it.", {"indifferent"}),                 # ...but its misspelling is
    ("The chairwoman spoke first.", set()),                      # another real word
    ("The chairmen spoke first.", set()),                        # a real plural
    ("We did it on your own.", set()),                           # a word of the phrase
    ("A hugs moment.", set()),                                   # short keywords: exact only
])
def test_fuzzy_matches_are_misspellings_not_other_words(project, tmp_path, text, found):
    yaml = ("name: t\ncodes:\n  - name: a\n    patterns: [petition, indifferent, chairman, "
            "on our own, hug]\n")
    sync(project.db, codebook_from_text(yaml))
    import_paths(project.db, [write(tmp_path / "d.txt", text)], ImportOptions())
    run_suggestions(project, SuggestOptions(using=("fuzzy",), min_score=0.0))
    phrases = {json.loads(s["evidence"])[0][1] for s in suggested(project.db)}
    assert phrases == found


def test_a_code_nobody_has_coded_is_found_by_its_definition(project, tmp_path):
    rng = random.Random(5)
    sync(project.db, codebook_from_text(RIVER_YAML))
    import_paths(project.db, [interviews(tmp_path / "t", 6, rng, 0.1)], ImportOptions())
    for name, number, text in sentences_of(project.db):
        if "forms" in text:
            add_coding(project.db, name, "paperwork", coder="anna", segment=number)
    result = train(project, coder="anna")
    assert result.positives["water"] == 0 and "water" in result.seeded
    run_suggestions(project, SuggestOptions(using=("model",)))
    water = [s for s in suggested(project.db) if s["path"] == "water"]
    assert water and all("river" in s["text"] for s in water)
    assert all("no codings yet: from its definition" in s["rationale"] for s in water)


def test_review_decisions_retrain_the_model_and_reorder_the_queue(project, tmp_path):
    from qcode.nlp.active import Learner

    coded_river_project(project, tmp_path, documents=8)
    train(project, coder="anna")
    write(tmp_path / "new" / "n1.txt", "Interviewer: And the week after?\nRespondent: "
          "The river froze. Forms again. The bakery closed. The river rose.\n")
    import_paths(project.db, [tmp_path / "new"], ImportOptions())
    run_suggestions(project, SuggestOptions(documents=["n1"], min_score=0.0))
    before = {s["id"]: s["score"] for s in queue(project.db)}
    learner = Learner(project, every=3)
    for s in [s for s in queue(project.db) if s["code"] == "water"][:3]:
        (reject if "froze" in s["rationale"] or "bakery" in s["rationale"] else accept)(
            project.db, s["id"], coder="boris")
        learner.decided()
    update = learner.wait(60)
    assert update is not None and update.error is None and update.rescored > 0
    after = {s["id"]: s["score"] for s in queue(project.db)}
    assert any(after[i] != before[i] for i in after)
    assert load_model(project.db).meta["id"] == update.model_id


def test_review_loop_says_when_the_model_has_learnt(cli, project, tmp_path):
    coded_river_project(project, tmp_path, documents=8)
    assert cli("train", "--coder", "anna").exit_code == 0
    write(tmp_path / "more" / "m.txt", "Respondent: The river rose. The river fell. Forms.\n")
    cli("import", tmp_path / "more")
    cli("suggest", "m", "--min-score", "0")
    text = project.config_path.read_text().replace("retrain_every: 10", "retrain_every: 2")
    project.config_path.write_text(text)
    loop = cli("review", "--coder", "anna", input="a\nr\na\nr\nq\n")
    assert loop.exit_code == 0, loop.stderr
    assert "learnt from your decisions: model" in loop.stderr


def test_evaluate_reports_progress_codes_and_rollups(project, tmp_path):
    coded_river_project(project, tmp_path, documents=8)
    stages = []
    result = evaluate(project, coder="anna", folds=2, progress=lambda s, d, t: stages.append(s))
    assert stages[0] == "analysing" and "fold 2/2" in stages and "matching patterns" in stages
    assert {r["suggester"] for r in result.summary} == {"rules", "fuzzy", "model", "all"}
    only = evaluate(project, coder="anna", folds=2, using=("model",), codes=["water"])
    assert {s.code for s in only.scores} == {"water"}
    again = evaluate(project, coder="anna", folds=2, using=("model",), codes=["water"])
    assert [s.row() for s in again.scores] == [s.row() for s in only.scores]  # same split
    assert again.split == only.split and len(set(only.split.values())) == 2


def test_evaluate_rolls_sub_codes_up_to_their_theme(project, tmp_path):
    yaml = ("name: t\ncodes:\n  - name: nature\n    codes:\n      - name: water\n"
            "      - name: paperwork\n")
    rng = random.Random(1)
    sync(project.db, codebook_from_text(yaml))
    import_paths(project.db, [interviews(tmp_path / "t", 4, rng)], ImportOptions())
    for name, number, text in sentences_of(project.db):
        if "river" in text:
            add_coding(project.db, name, "water", coder="anna", segment=number)
        elif "forms" in text:
            add_coding(project.db, name, "paperwork", coder="anna", segment=number)
    rolled = evaluate(project, folds=2, using=("model",), rollup=True)
    (score,) = rolled.scores
    river = sum("river" in t for t in _sentences(project.db))
    forms = sum("forms" in t for t in _sentences(project.db))
    assert score.code == "nature" and score.support == river + forms


def _sentences(db):
    return [t for (t,) in db.execute(
        "SELECT substr(r.text, s.start + 1, s.\"end\" - s.start) FROM segments s JOIN "
        "current_revisions r ON r.id = s.revision_id JOIN speakers p ON p.id = s.speaker_id "
        "WHERE s.kind = 'sentence' AND p.name = 'Respondent'")]


def test_a_decision_labels_its_own_code_only_but_a_document_coded_by_hand_is_whole(
        project, tmp_path):
    from qcode.nlp.units import training_units

    coded_river_project(project, tmp_path, documents=2, precision=1.0)
    write(tmp_path / "r" / "x.txt", "Respondent: The river rose. Forms again. A quiet day.\n")
    import_paths(project.db, [tmp_path / "r"], ImportOptions())
    run_suggestions(project, SuggestOptions(documents=["x"], using=("rules",)))
    (pending,) = queue(project.db)
    reject(project.db, pending["id"], coder="anna")
    units, paths = training_units(project.db)
    by_doc = {}
    for u in units:
        by_doc.setdefault(u.document_id, []).append(u)
    whole = [us for us in by_doc.values() if all(u.known is None for u in us)]
    (partial,) = [us for us in by_doc.values() if any(u.known is not None for u in us)]
    assert len(whole) == 2
    assert [(u.text, u.labels, {paths[g] for g in u.known}) for u in partial] == [
        ("The river rose.", set(), set()), ("Forms again.", set(), {"paperwork"}),
        ("A quiet day.", set(), set())]  # undecided sentences: weak negatives only


def test_a_codes_cut_lets_through_as_many_units_as_it_is_expected_to_have():
    from qcode.nlp.calibration import count_thresholds

    rng = numpy.random.default_rng(0)
    p = rng.random((400, 3))
    y = numpy.zeros((400, 3))
    known = numpy.ones((400, 3))
    y[:30, 0] = 1  # all known: 30 positives, so 30 units pass
    y[:5, 1] = 1  # 5 known positives, and 100 undecided units of probability 0.1 each
    known[300:, 1] = 0
    p[300:, 1] = 0.1
    cuts = count_thresholds(p, y, known, fallback=0.42)
    assert (p[:, 0] >= cuts[0]).sum() == 30
    assert (p[:, 1] >= cuts[1]).sum() == 15
    assert cuts[2] == 0.42  # nobody has coded it: the fallback
    y[:, 0] = 0
    y[0, 0] = 1  # one positive among 400: at least the one surest unit passes
    assert (p[:, 0] >= count_thresholds(p, y, known)[0]).sum() == 1


def test_a_cut_does_not_jump_with_one_more_positive():
    """The best-F1 cut on a handful of positives is one of their scores; the count cut
    moves by one unit per positive."""
    from qcode.nlp.calibration import count_thresholds

    rng = numpy.random.default_rng(1)
    y = numpy.zeros((500, 1))
    y[:8, 0] = 1
    p = numpy.clip(y * 0.3 + rng.random((500, 1)) * 0.7, 0, 1)
    before = (p >= count_thresholds(p, y, numpy.ones_like(y))).sum()
    y[8, 0] = 1
    after = (p >= count_thresholds(p, y, numpy.ones_like(y))).sum()
    assert (before, after) == (8, 9)


def test_calibration_never_reverses_the_models_ranking():
    """With a handful of positives that the held-out scores happen to rank low, the
    maximum-likelihood curve turns over (slope < 0), and every low-scored sentence would
    read as likely. The curve may flatten, never turn: higher logit, higher probability."""
    from qcode.nlp.calibration import MIN_SLOPE, fit_platt

    rng = numpy.random.default_rng(2)
    logits = rng.normal(size=(300, 2))
    y = numpy.zeros((300, 2))
    y[numpy.argsort(logits[:, 0])[:6], 0] = 1  # six positives, the six lowest scores
    y[numpy.argsort(logits[:, 1])[:6], 1] = 1
    platt = fit_platt(logits, y, numpy.ones_like(y))
    assert platt.slope == pytest.approx(MIN_SLOPE)
    p = platt(logits)
    for j in range(2):
        order = numpy.argsort(logits[:, j])
        assert (numpy.diff(p[order, j]) > 0).all()


def test_the_question_of_a_turn_is_the_nearest_earlier_turn_by_another_speaker():
    from hypothesis import given
    from hypothesis import strategies as st

    from qcode.nlp.units import Layout

    def nearest(speakers, turn):
        for earlier in range(turn - 1, -1, -1):
            if speakers[turn] is None or speakers[earlier] != speakers[turn]:
                return earlier
        return -1

    @given(st.lists(st.sampled_from(["I", "R", "X", None]), max_size=12))
    def check(speakers):
        layout = Layout(1, 1, "", "en", [], [(0, 0, s, s == "I") for s in speakers])
        assert layout.questions == [nearest(speakers, t) for t in range(len(speakers))]

    check()


def test_the_fast_sentence_matrix_is_the_matrix_of_the_units_blocks(sample_project):
    """`suggest` builds the model's input per document with sparse algebra; it must be
    what training builds unit by unit (up to a float's last bits)."""
    from qcode.nlp.features import Vectorizer, sentence_matrix, sentence_terms, unit_blocks
    from qcode.nlp.pipeline import analyzer
    from qcode.nlp.units import layout_units, load_layout

    db = sample_project.db
    layouts = [load_layout(db, rev, "en") for (rev,) in db.execute(
        "SELECT id FROM current_revisions ORDER BY id")]
    all_terms, all_rows = [], []
    for layout in layouts:
        texts = [layout.text[s:e] for _, s, e, _ in layout.sentences]
        terms = [sentence_terms(w) for w in analyzer("en").analyse(texts)[1]]
        all_terms.append(terms)
        all_rows.append([unit_blocks(u, terms) for u in layout_units(layout, "sentence")])
    vectorizer = Vectorizer().fit([r for rows in all_rows for r in rows], min_count=2)
    for layout, terms, rows in zip(layouts, all_terms, all_rows, strict=True):
        indexes = [i for i in range(len(terms)) if i % 3]  # not every sentence: skips too
        fast = sentence_matrix(vectorizer, layout, terms, indexes)
        slow = vectorizer.transform([rows[i] for i in indexes])
        slow.sort_indices()
        assert fast.shape == slow.shape
        assert fast.indptr.tolist() == slow.indptr.tolist()
        assert fast.indices.tolist() == slow.indices.tolist()
        assert numpy.allclose(fast.data, slow.data, rtol=1e-12, atol=0)


def test_rules_over_whole_documents_find_what_they_find_sentence_by_sentence(sample_project):
    """`suggest` tokenizes each transcript once and runs the phrase matchers over it, and
    the token patterns only where their words are: the same hits as matching every
    sentence on its own."""
    from qcode.nlp.calibration import PatternPrecision
    from qcode.nlp.pipeline import analyzer
    from qcode.nlp.suggesters import RuleSuggester
    from qcode.nlp.units import load_layout

    db = sample_project.db
    codes = [dict(r) for r in db.query("SELECT * FROM codes WHERE status = 'active'")]
    nlp = analyzer("en")
    rules = RuleSuggester(nlp, codes, PatternPrecision().scorer())
    assert rules.needs  # the shipped codebook's token patterns can all be pre-checked
    total = 0
    for (revision,) in db.execute("SELECT id FROM current_revisions").fetchall():
        layout = load_layout(db, revision, "en")
        pieces, words = nlp.analyse_spans(layout.text, layout.spans)
        assert len({id(doc) for doc, _, _ in pieces}) == 1  # one doc for the transcript
        docs, alone = nlp.analyse([layout.text[s:e] for s, e in layout.spans])
        assert words == alone
        whole = [(h.sentence, h.code_id, h.rationale) for h in rules.suggest(pieces, words)]
        rules.needs, kept = None, rules.needs
        each = [(h.sentence, h.code_id, h.rationale)
                for h in rules.suggest([(d, 0, len(d)) for d in docs], alone)]
        rules.needs = kept
        assert whole == each
        total += len(whole)
    assert total > 100


def test_fuzzy_matching_finds_what_comparing_every_ngram_finds(project, tmp_path):
    """The fuzzy suggester compares only what can be a misspelling; a brute-force
    comparison of every n-gram with every phrase must find the same."""
    from rapidfuzz import fuzz

    from qcode.nlp.calibration import PatternPrecision
    from qcode.nlp.pipeline import analyzer
    from qcode.nlp.suggesters import FuzzySuggester

    yaml = ("name: t\ncodes:\n  - name: a\n    patterns: [petition, human rights, civil society, "
            "known each other]\n  - name: b\n    patterns: [district administration]\n")
    sync(project.db, codebook_from_text(yaml))
    codes = [dict(r) for r in project.db.query("SELECT * FROM codes")]
    texts = ["We signed a petiton for humen rights.", "The civl society of Perm.",
             "They have knwon each other for years.", "The distrct adminstration refused.",
             "Human lights and civil societies.", "Petitions were signed by the district."]
    nlp = analyzer("en")
    _, words = nlp.analyse(texts)
    fuzzy = FuzzySuggester(nlp, codes, PatternPrecision().scorer())
    found = {(h.sentence, h.code_id, h.rationale) for h in fuzzy.suggest(None, words)}
    expected = {}
    for s, row in enumerate(words):
        kept = [(w.lower, w.lemma) for w in row if not w.skip]
        for size, phrases in fuzzy.by_size.items():
            for i in range(len(kept) - size + 1):
                piece = kept[i:i + size]
                gram = " ".join(w for w, _ in piece)
                if " ".join(m for _, m in piece) in fuzzy.lemma_forms or (
                        size == 1 and piece[0][1] in fuzzy.lemma_forms):
                    continue
                for phrase, code_id in phrases:
                    score = round(fuzz.ratio(phrase, gram))  # as cdist(dtype="uint8")
                    if score >= fuzzy.threshold and gram != phrase and \
                            fuzzy._plausible(gram, phrase):
                        if score > expected.get((s, code_id), (0,))[0]:
                            expected[(s, code_id)] = (score, phrase, gram)
    reference = {(s, c, f"“{g}” ≈ “{p}” ({n})") for (s, c), (n, p, g) in expected.items()}
    assert found == reference and len(found) == 4


def test_uncertain_order_takes_turns_across_retrainings():
    """The codes take turns nearest their thresholds; after an update of the model the
    turns go on with the codes decided least, instead of starting over with the first
    codes (which left the others undecided: bench/active.py)."""
    from qcode.review import uncertain_first

    items = [{"code_id": c, "code": f"c{c}", "score": s, "id": (c, s)}
             for c in (1, 2, 3) for s in (0.1, 0.45, 0.9)]
    thresholds = {"c1": 0.5, "c2": 0.5, "c3": 0.5}
    fresh = uncertain_first([dict(i) for i in items], thresholds)
    assert [i["id"] for i in fresh[:3]] == [(1, 0.45), (2, 0.45), (3, 0.45)]
    later = uncertain_first([dict(i) for i in items], thresholds, {1: 2, 2: 1})
    assert [i["code_id"] for i in later[:4]] == [3, 2, 3, 1]
    assert later[0]["id"] == (3, 0.45)

