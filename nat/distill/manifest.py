"""``manifest.json``: what made this corpus (teachers, settings, versions, counts, timing)."""
import json
import platform
import sys
from importlib import metadata

from nat import textio

PACKAGES = ("nat-kd", "torch", "ve-fairseq", "ctranslate2", "sacrebleu", "numpy")


def package_versions():
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def write_manifest(path, manifest):
    textio.write_lines_atomic(path, [json.dumps(manifest, indent=1, sort_keys=True)])


def read_manifest(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def command_line():
    return " ".join(sys.argv)
