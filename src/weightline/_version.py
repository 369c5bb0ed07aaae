"""The one place weightline's version is written (the build and `weightline --version` read it)."""

__version__ = "1.0.0"
