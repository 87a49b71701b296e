"""A small real-looking multilingual corpus written by the tests (no download).

English sources; each target is French, German or Japanese (label in ``{split}.lang``), with
accents, typographic punctuation, CJK, emoji, names and numbers shared across languages.  The
test split also has ``test.ref.{fr,de,ja}`` (the same source in every language).  ``write`` adds
the mess real corpora have: CRLF line endings, a byte-order mark, duplicate pairs, tabs and NBSP,
full-width letters, an empty pair, an over-long pair and a character unseen in training.
"""
import os
import random

LANGS = ("fr", "de", "ja")
NAMES = ("Zoë", "José", "Müller", "Chloé", "Łukasz", "Ana", "李娜", "Søren")
ITEMS = {"en": ("apples", "books", "coffees", "croissants", "breads"),
         "fr": ("pommes", "livres", "cafés", "croissants", "pains"),
         "de": ("Äpfel", "Bücher", "Kaffees", "Croissants", "Brote"),
         "ja": ("りんご", "本", "コーヒー", "クロワッサン", "パン")}
PLACES = {"en": ("station", "museum", "café", "school"),
          "fr": ("la gare", "le musée", "le café", "l'école"),
          "de": ("der Bahnhof", "das Museum", "das Café", "die Schule"),
          "ja": ("駅", "博物館", "カフェ", "学校")}
TEMPLATES = (
    {"en": "{name} buys {n} {item} .", "fr": "{name} achète {n} {item} .",
     "de": "{name} kauft {n} {item} .", "ja": "{name}は{item}を{n}個買います。"},
    {"en": "Where is the {place} , {name} ?", "fr": "Où est {place} , {name} ?",
     "de": "Wo ist {place} , {name} ?", "ja": "{name}さん、{place}はどこですか？"},
    {"en": "It costs {n} euros — too expensive !", "fr": "Ça coûte {n} euros — trop cher !",
     "de": "Das kostet {n} Euro – zu teuer !", "ja": "{n}ユーロです。高すぎます！"},
    {"en": "{name} loves {item} 😀", "fr": "{name} adore les {item} 😀",
     "de": "{name} liebt {item} 😀", "ja": "{name}は{item}が大好きです 😀"},
    {"en": "“ Good morning , ” says {name} .", "fr": "« Bonjour » , dit {name} .",
     "de": "„ Guten Morgen “ , sagt {name} .",
     "ja": "「おはよう」と{name}が言います。"},
)


def sentence(rng):
    """One source and its translation in every language."""
    t, name, n = rng.randrange(len(TEMPLATES)), rng.choice(NAMES), rng.randint(1, 99)
    k, p = rng.randrange(5), rng.randrange(4)
    return {lang: TEMPLATES[t][lang].format(name=name, n=n, item=ITEMS[lang][k],
                                            place=PLACES[lang][p])
            for lang in ("en",) + LANGS}


def split_rows(rng, count):
    rows = []
    for _ in range(count):
        s = sentence(rng)
        rows.append((s["en"], rng.choice(LANGS), s))
    return rows


def write(directory, train=240, valid=24, test=24, seed=7, messy=True):
    """Write the corpus; returns ``{split: [(src, tgt, lang, {lang: ref}), ...]}`` as written
    (before any cleaning), for brute-force checks."""
    rng = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    data = {}
    for split, count in (("train", train), ("valid", valid), ("test", test)):
        data[split] = [(src, lang, s[lang], s) for src, lang, s in split_rows(rng, count)]
    if messy:
        tr = data["train"]
        tr[5:5] = [tr[3], tr[3], tr[4]]                      # duplicate pairs
        src, lang, tgt, s = tr[8]
        tr[8] = ("Tab\there\u00a0and NBSP  spaces", lang, "ＡＢＣ full\twidth " + tgt, s)
        tr.insert(20, ("", "fr", "", {}))                     # empty pair (--drop-empty)
        tr.insert(30, (" ".join(["word"] * 300), "de", " ".join(["Wort"] * 300), {}))  # long
        src, lang, tgt, s = data["test"][2]
        data["test"][2] = (src + " ☃", lang, tgt + " ☃",       # unseen in training
                           {k: v + " ☃" for k, v in s.items()})
    for split, rows in data.items():
        newline = "\r\n" if messy and split == "train" else "\n"
        files = {"src": [r[0] for r in rows], "tgt": [r[2] for r in rows],
                 "lang": [r[1] for r in rows]}
        if split == "test":
            for lang in LANGS:
                files[f"ref.{lang}"] = [r[3][lang] for r in rows]
        for col, lines in files.items():
            text = newline.join(lines) + newline
            if messy and split == "train" and col == "tgt":
                text = "\ufeff" + text
            with open(os.path.join(directory, f"{split}.{col}"), "w", encoding="utf-8",
                      newline="") as handle:
                handle.write(text)
    return {split: [(r[0], r[2], r[1], r[3]) for r in rows] for split, rows in data.items()}
