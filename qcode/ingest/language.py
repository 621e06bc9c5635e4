"""Which language a transcript is in, offline: its script, then its commonest words.

A transcript is long and talkative, so the evidence is plentiful: the letters say the
script (Cyrillic, Latin, Greek, …), and within a script shared by several languages
the share of each one's commonest function words decides ("не", "что", "это" against
"не", "що", "це"). No model, no download, a few milliseconds per transcript.

``detect_language`` answers None when the evidence is thin (a few words, a list of
names, a tie): the project's default language then stands.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

SAMPLE = 3_000  # characters looked at: from the start, the middle and the end of the text
MIN_WORDS = 8  # fewer words than this say nothing
MIN_SHARE = 0.10  # of the words, at least this many must be the language's function words
MARGIN = 1.25  # and the best language must beat the next by this factor

# Scripts that name one language (or one for transcripts in practice).
_ONE_LANGUAGE = {"GREEK": "el", "HEBREW": "he", "ARABIC": "ar", "HANGUL": "ko",
                 "HIRAGANA": "ja", "KATAKANA": "ja", "THAI": "th", "GEORGIAN": "ka",
                 "ARMENIAN": "hy", "DEVANAGARI": "hi", "BENGALI": "bn", "TAMIL": "ta",
                 "CJK": "zh"}

# The commonest words of everyday speech, a few dozen each; shared words ("a", "de",
# "не") count for every language that has them, the others tell them apart.
_WORDS = {
    "Latin": {
        "en": "the and of to a in is that it was for you i my with they we but not have "
              "this be are what so do on at there just like know think because if or "
              "would about yeah really don't it's i'm me he she them their very no yes",
        "de": "der die das und ist nicht ich es sie wir ein eine zu mit auf den dem "
              "auch aber wie so dass war sind hat habe noch nur schon oder wenn ja nein "
              "mir mich bei für von sehr",
        "fr": "le la les et est pas je il elle nous vous un une des de du en que qui "
              "ce ça c'est dans pour sur avec mais ou très bien oui non au aux mon ma "
              "on j'ai",
        "es": "el la los las y es no que de en un una por para con pero muy como lo "
              "se su sí yo mi me más porque cuando está son del al eso esto pues",
        "it": "il lo la gli le e è non che di un una per con ma molto come si io mi "
              "sono del della nel anche questo quello perché ho ha sì no",
        "pt": "o a os as e é não que de em um uma por para com mas muito como se eu "
              "meu minha do da no na isso sim você ele ela foi tem",
        "nl": "de het een en is niet ik je we zij dat die van in op met voor maar ook "
              "als dan nog wel ja nee heb heeft was zijn er",
        "pl": "i w nie się na jest to że z do jak ale tak co czy mi mnie jestem był "
              "była są tylko bardzo już o od po dla",
        "sv": "och att det är en ett jag inte som på med för har var de vi men så om "
              "till av den ja nej mycket",
        "da": "og at det er en et jeg ikke som på med for har var de vi men så om til "
              "af den ja nej meget også kan skal vil havde",
        "nb": "og at det er en et jeg ikke som på med for har var de vi men så om til "
              "av den ja nei mye også kan skal vil hadde",
        "cs": "a v ve se na je to že s z do jak ale tak co jsem byl byla jsou jen "
              "velmi už o od po pro který která které by ne ano",
        "ca": "el la els les i és no que de en un una per amb però molt com ho es jo "
              "em del al això sí més perquè quan",
        "ro": "și în nu că de la un o pe cu dar foarte ca se eu mi am este sunt a fost "
              "din pentru mai care da",
        "tr": "ve bir bu da de ne için çok ben sen o biz siz ama gibi daha var yok "
              "mi mı evet hayır şey olarak ile",
        "fi": "ja on ei se että oli mutta kuin niin minä sinä hän me te he joka mitä "
              "kun jos vain myös kyllä nyt tämä",
    },
    "Cyrillic": {
        "ru": "и в не на я что это он она мы они вы с как но так то да нет все всё "
              "было был была есть меня мне у же бы очень когда если только ещё еще "
              "вот ну его её их потому чтобы или уже там",
        "uk": "і й в у не на я що це він вона ми вони ви з як але так то та ні все "
              "було був була є мене мені же би дуже коли якщо тільки ще ось його її "
              "їх тому щоб або вже там",
        "bg": "и в не на аз че това той тя ние те вие с как но така да всичко беше е "
              "са съм ме ми много когато ако само още ето го нея ги защото или вече "
              "там ще който която които към бъде във със",
    },
}
WORDS = {script: {lang: frozenset(words.split()) for lang, words in langs.items()}
         for script, langs in _WORDS.items()}
# Letters only one of the languages of a script has: each one counts as a word of it.
_LETTERS = {"uk": set("іїєґ"), "ru": set("ыэё"), "bg": set("ъ")}

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def _sample(text: str) -> str:
    if len(text) <= SAMPLE:
        return text
    third = SAMPLE // 3
    middle = len(text) // 2 - third // 2
    return " ".join((text[:third], text[middle:middle + third], text[-third:]))


def _script(char: str) -> str | None:
    try:
        name = unicodedata.name(char)
    except ValueError:
        return None
    first = name.split()[0]
    if first in ("LATIN", "CYRILLIC"):
        return first.capitalize()
    if first.startswith("CJK"):
        return "CJK"
    return first


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language *text* is in, or None when unsure."""
    sample = _sample(text)
    scripts: Counter = Counter()
    for char, count in Counter(sample).items():  # each distinct character named once
        if char.isalpha() and (script := _script(char)) is not None:
            scripts[script] += count
    letters = sum(scripts.values())
    if letters < 20:
        return None
    kana = scripts["HIRAGANA"] + scripts["KATAKANA"]
    if kana >= 0.05 * letters and kana + scripts["CJK"] >= 0.6 * letters:
        return "ja"  # Japanese writes kanji among its kana
    script, count = scripts.most_common(1)[0]
    if count < 0.6 * letters:
        return None  # no script dominates: mixed text
    if script in _ONE_LANGUAGE:
        return _ONE_LANGUAGE[script]
    if script not in WORDS:
        return None
    words = Counter(_WORD.findall(sample.lower().replace("’", "'")))
    total = sum(words.values())
    if total < MIN_WORDS:
        return None
    scores = Counter()
    for language, known in WORDS[script].items():
        scores[language] = sum(words[w] for w in known.intersection(words))
    if script == "Cyrillic":
        for language, marks in _LETTERS.items():
            scores[language] += sum(n for w, n in words.items() if marks.intersection(w))
    ranked = scores.most_common()
    best, hits = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    if hits < MIN_SHARE * total or hits < MARGIN * runner_up:
        return None
    return best
