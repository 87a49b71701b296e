"""Content and settings hashes that tie every stage's files to their inputs (one
serialisation for all of them)."""
import hashlib
import json


def file_sha256(path, block=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(block), b""):
            digest.update(chunk)
    return digest.hexdigest()


def line_hash(line):
    """Short hash of one source line, carried with its id through the store and the merge."""
    return hashlib.sha1(line.encode("utf-8")).hexdigest()[:16]


def json_key(obj, length=12):
    """Stable short hash of a settings object (JSON, keys sorted; anything else as ``str``)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def settings_key(*parts):
    """The key of a stage or job: its own settings and the keys of what it reads."""
    return json_key(list(parts), length=16)
