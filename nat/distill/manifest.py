"""``manifest.json``: what made this corpus (teachers, settings, versions, counts, timing)."""
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
    textio.write_json_atomic(path, manifest, sort_keys=True)


def command_line():
    return " ".join(sys.argv)
