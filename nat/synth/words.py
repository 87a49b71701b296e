"""Pseudo-words with one look per language and no string shared between vocabularies.

Disjoint vocabularies make every target token's language known, which is what makes the
language-mixing measures and the ground truth exact.
"""

# (consonants, vowels, syllable pattern) per vocabulary; the shared ``used`` set guarantees
# disjointness, the different inventories only make the languages easy to tell apart by eye.
INVENTORIES = {
    "src": ("bdfgklmnprtv", "aeiou", "CV"),
    "xa": ("ptkmnls", "aeiou", "CV"),
    "xb": ("gdbrnz", "aeo", "CVC"),
    "xc": ("hqxwjy", "aiu", "VC"),
}


class WordMaker:
    """Draws unused pseudo-words from an inventory with a seeded ``random.Random``."""

    def __init__(self, rng, used=()):
        self.rng = rng
        self.used = set(used)

    def _syllable(self, consonants, vowels, pattern):
        pick = self.rng.choice
        return "".join(pick(consonants) if ch == "C" else pick(vowels) for ch in pattern)

    def word(self, inventory, suffix=None):
        """A new word (and ``word + suffix`` when given); both reserved, never reused."""
        consonants, vowels, pattern = INVENTORIES[inventory]
        for attempt in range(10000):
            count = 2 + (self.rng.random() < 0.5) + attempt // 200
            stem = "".join(self._syllable(consonants, vowels, pattern) for _ in range(count))
            forms = (stem,) if suffix is None else (stem, stem + suffix)
            if not any(f in self.used for f in forms):
                self.used.update(forms)
                return forms if suffix is not None else stem
        raise RuntimeError("pseudo-word space exhausted")  # unreachable for sane sizes

    def reserve(self, words):
        self.used.update(words)
