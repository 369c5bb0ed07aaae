"""The one exception weightline raises on purpose: its message says what is wrong and what to do."""


class WeightlineError(Exception):
    """A refusal or a failure the user can act on; the CLI prints it and exits 1."""
