"""{{ cookiecutter.project_name }}: the ML code (data, model, training, evaluation).

Versioning lives next door in `weightline`; this package may call it, never the other way round.
"""
