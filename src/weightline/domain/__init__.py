"""Pure rules: versions, tags, manifests, signatures, bumps, stages, drift. No I/O."""
