"""weightline: versions of model weights as git tags, with manifests, stages and rollback."""
