"""The manifest's schema: what every version records, and reading one back safely.

models/manifest.json is written by the pipeline's last stage (ops/manifest.py); this module only
knows its shape, so that everything reading a manifest (the index, the gate, verify) agrees.
"""

import json

from weightline.errors import WeightlineError

SCHEMA_VERSION = 1
REQUIRED = ("schema_version", "artifact", "weights", "data", "config", "metrics", "signature")


def parse(text: str, where: str) -> dict:
    """A manifest from JSON text, refusing a truncated or foreign file with a clear message."""
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as error:
        raise WeightlineError(f"{where} is not valid JSON ({error}): is it truncated?") from None
    missing = [key for key in REQUIRED if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise WeightlineError(f"{where} lacks {', '.join(missing)}: not a weightline manifest")
    if manifest["schema_version"] > SCHEMA_VERSION:
        raise WeightlineError(
            f"{where} has schema version {manifest['schema_version']}, newer than this "
            f"weightline ({SCHEMA_VERSION}): upgrade weightline"
        )
    return manifest
