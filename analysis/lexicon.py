"""The synthetic corpus's ``lexicon.json``: languages, token -> language, source realisations."""
import json
import os

from nat.errors import UserError


def load(path):
    """Parsed lexicon; one-line UserError when the file is missing, not JSON or lacks a key."""
    if not os.path.isfile(path):
        raise UserError(f"no such lexicon file: {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (ValueError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not a JSON lexicon ({err})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object")
    for key in ("languages", "token_language"):
        if key not in data:
            raise UserError(f"{path}: lexicon lacks the key {key!r}")
    languages = list(data["languages"])
    if not languages:
        raise UserError(f"{path}: lexicon lists no languages")
    stray = {lang for lang in data["token_language"].values() if lang not in languages}
    if stray:
        raise UserError(f"{path}: token_language uses languages not listed: {sorted(stray)[:5]}")
    return data
