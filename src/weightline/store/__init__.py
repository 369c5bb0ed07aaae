"""Where the registry lives: git, its refs and tags, the SQLite index, files."""
