import string

from hypothesis import given, settings
from hypothesis import strategies as st

from qcode.ingest.segment import split_sentences
from qcode.ingest.turns import detect_turns


def spoken(text, turns):
    return [(t.speaker, text[t.start:t.end]) for t in turns]


def test_name_colon_turns():
    text = "Interviewer: How did it start?\nAnna: In our courtyard.\nWe met weekly.\nInterviewer: Ok."
    assert spoken(text, detect_turns(text)) == [
        ("Interviewer", "How did it start?"),
        ("Anna", "In our courtyard.\nWe met weekly."),
        ("Interviewer", "Ok."),
    ]


def test_conventions():
    text = ("[00:00:05] INTERVIEWER: Hello?\n"
            "**Marina:** Hi.\n"
            "[Interviewer] And then?\n"
            "(00:01:02) Marina: We won.\n")
    turns = detect_turns(text)
    assert [t.speaker for t in turns] == ["INTERVIEWER", "Marina", "Interviewer", "Marina"]
    assert turns[0].time_start == 5.0 and turns[3].time_start == 62.0
    assert [text[t.start:t.end] for t in turns] == ["Hello?", "Hi.", "And then?", "We won."]


def test_q_and_a_and_russian_labels():
    assert [t.speaker for t in detect_turns("Q: why?\nA: because.")] == ["Q", "A"]
    text = "Интервьюер: Как вы начали?\nРеспондент: С двора."
    assert [t.speaker for t in detect_turns(text)] == ["Интервьюер", "Респондент"]


def test_a_stray_label_is_not_a_speaker():
    text = "We met in May.\n\nNote: the recording was noisy.\n\nThen we organised."
    turns = detect_turns(text)
    assert all(t.speaker is None for t in turns)
    assert len(turns) == 3


def test_a_one_off_speaker_in_a_labelled_transcript_is_kept():
    text = "Interviewer: Hi?\nAnna: Hello.\nInterviewer: Bye.\nNote: end of tape"
    assert [t.speaker for t in detect_turns(text)] == ["Interviewer", "Anna", "Interviewer"]


def test_custom_speaker_pattern():
    text = "> Anna -- hello\n> Boris -- hi\n"
    turns = detect_turns(text, r">\s*(?P<speaker>\w+)\s*--\s*")
    assert spoken(text, turns) == [("Anna", "hello"), ("Boris", "hi")]


def test_sentences_are_split_within_turns():
    text = "Interviewer: How? Tell me.\nAnna: It began here. We did not trust them!\n\nSo we met"
    turns = detect_turns(text)
    sentences = [text[s:e] for _, s, e in split_sentences(text, turns, "en")]
    assert sentences == ["How?", "Tell me.", "It began here.", "We did not trust them!",
                         "So we met"]


def test_unknown_language_falls_back_to_multilingual():
    text = "Один. Два."
    turns = detect_turns(text)
    assert [text[s:e] for _, s, e in split_sentences(text, turns, "zz")] == ["Один.", "Два."]


def test_very_long_paragraph_is_cut_into_chunks():
    text = ("word " * 60_000).strip()
    turns = detect_turns(text)
    sentences = split_sentences(text, turns, "en")
    assert sentences[0][1] == 0 and sentences[-1][2] == len(text)
    assert all(text[s:e].strip() == text[s:e] for _, s, e in sentences)


# -- properties ---------------------------------------------------------------------------

alphabet = st.sampled_from(list(string.ascii_letters + " .,?!:\n\t\r-'") +
                           list("ёЖщЫ—«»…") + ["🙂", "\u00a0", "Q: ", "Anna: ", "\n\n"])
texts = st.lists(alphabet, min_size=1, max_size=300).map("".join)


@settings(max_examples=150, deadline=None)
@given(texts)
def test_turns_are_ordered_stripped_spans_of_the_text(text):
    turns = detect_turns(text)
    previous_end = 0
    for turn in turns:
        assert previous_end <= turn.start < turn.end <= len(text)
        piece = text[turn.start:turn.end]
        assert piece == piece.strip() and piece
        previous_end = turn.end


@settings(max_examples=100, deadline=None)
@given(texts)
def test_sentences_lie_in_their_turns_and_cover_every_visible_character(text):
    turns = detect_turns(text)
    sentences = split_sentences(text, turns, "en")
    covered = set()
    previous_end = 0
    for index, start, end in sentences:
        turn = turns[index]
        assert turn.start <= start < end <= turn.end
        assert previous_end <= start
        assert text[start:end] == text[start:end].strip()
        covered.update(range(start, end))
        previous_end = end
    for turn in turns:
        for i in range(turn.start, turn.end):
            if not text[i].isspace():
                assert i in covered


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 6)), min_size=1, max_size=12),
       st.integers(0, 80), st.integers(0, 80))
def test_sentence_times_bisect_the_cues_as_a_scan_would(layout, a, b):
    """A turn of one voice can hold 100,000 cues (issue 18, item 5): the cue of a
    sentence's start and end is found by bisection, with the answers a scan gives."""
    from qcode.ingest.importer import _sentence_times
    from qcode.ingest.model import Cue, Turn

    cues, offset = [], 0
    for gap, length in layout:  # cues in order, not overlapping, with gaps between
        offset += gap
        cues.append(Cue(offset, offset + length, float(offset), float(offset + length)))
        offset += length
    turn = Turn(speaker="Anna", start=cues[0].start, end=cues[-1].end, cues=cues)
    start, end = min(a, b), max(a, b) + 1
    first = next((c for c in cues if c.start <= start < c.end), cues[0])
    last = next((c for c in reversed(cues) if c.start < end <= c.end), cues[-1])
    assert _sentence_times(turn, [c.start for c in cues], start, end) == (
        first.time_start, last.time_end)


_PARAGRAPH_DEFINITION = r"\S(?:.*?\S)??(?=\s*\n[ \t]*\n|\s*$)"  # as paragraphs() is defined


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("ab. \t\n\r\x0b\x0c\x1c\u2028\u00a0\u3000")), max_size=40),
       st.data())
def test_paragraphs_fast_path_for_one_line_matches_the_definition(text, data):
    """A span without a newline takes a shortcut (the span, stripped); it must give the
    definition's paragraphs exactly, whatever whitespace surrounds it."""
    import re

    from qcode.ingest.turns import paragraphs

    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    expected = [(start + m.start(), start + m.end())
                for m in re.finditer(_PARAGRAPH_DEFINITION, text[start:end], re.S)]
    assert paragraphs(text, start, end) == expected
