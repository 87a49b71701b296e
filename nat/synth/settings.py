"""Generator settings: grammar sizes and probabilities, with named presets.

``default`` is the richer grammar (large Zipf vocabularies, 4-30 source tokens, nested PPs);
``small`` is sized for tiny models trained on CPU in minutes (a few dozen words per class,
4-15 source tokens).  Every field ends up in ``truth.json`` and ``lexicon.json``.
"""
import dataclasses

from nat.errors import UserError

LANGUAGES = ("xa", "xb", "xc")
MODES = ("random", "deterministic", "all")


@dataclasses.dataclass(frozen=True)
class SynthSettings:
    nouns: int = 1000            # noun lemmas (each has a singular and a plural source form)
    adjectives: int = 200
    verbs: int = 300
    adverbs: int = 60
    prepositions: int = 20
    min_len: int = 4             # source length range (tokens), enforced by rejection
    max_len: int = 30
    zipf: float = 1.0            # exponent of the Zipf word frequencies within each class
    adj_prob: float = 0.35       # probability of one more adjective (geometric, up to max_adj)
    max_adj: int = 2
    pp_prob: float = 0.3         # probability that a noun takes a prepositional phrase
    max_depth: int = 2           # nesting limit of prepositional phrases
    object_prob: float = 0.7     # probability of a transitive clause
    adverb_prob: float = 0.3
    plural_prob: float = 0.35    # plural when the determiner allows either number
    synonym_rate: float = 0.3    # share of (content word, language) pairs with several synonyms
    max_synonyms: int = 3
    grammar_seed: int = 1        # seeds the vocabularies and synonym probabilities only

    def check(self):
        """Raise a one-line UserError on an impossible setting."""
        for name in ("nouns", "adjectives", "verbs", "adverbs", "prepositions"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name} must be at least 1, got {getattr(self, name)}")
        if not 3 <= self.min_len <= self.max_len:
            raise UserError(f"length range must satisfy 3 <= min <= max, got "
                            f"{self.min_len}-{self.max_len}")
        for name in ("adj_prob", "pp_prob", "object_prob", "adverb_prob", "plural_prob",
                     "synonym_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise UserError(f"--{name.replace('_', '-')} must lie in [0, 1], got {value}")
        if self.max_synonyms < 1 or self.max_adj < 0 or self.max_depth < 0 or self.zipf < 0:
            raise UserError("--max-synonyms must be >= 1; --max-adj, --max-depth, --zipf >= 0")
        return self

    def as_dict(self):
        return dataclasses.asdict(self)


PRESETS = {
    "default": SynthSettings(),
    "small": SynthSettings(nouns=30, adjectives=10, verbs=12, adverbs=5, prepositions=4,
                           min_len=4, max_len=15, adj_prob=0.3, max_adj=1, pp_prob=0.25,
                           max_depth=1, synonym_rate=0.15, max_synonyms=2),
}


def make_settings(preset="default", **overrides):
    """Preset values with the given (non-None) fields replaced; checked."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r} (choose from {', '.join(PRESETS)})")
    fields = {f.name for f in dataclasses.fields(SynthSettings)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise UserError(f"unknown grammar setting(s): {', '.join(unknown)}")
    chosen = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(PRESETS[preset], **chosen).check()
