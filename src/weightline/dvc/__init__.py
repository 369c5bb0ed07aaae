"""The DVC side: dvc.lock, the cache and the remotes, through DVC's Python API."""
