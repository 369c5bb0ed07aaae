"""What can go wrong, as classes a caller can tell apart, each with the CLI's exit code.

A serving process calling `load_model()` must tell "no such version" from "corrupt weights" from
"the remote is down": catch the subclass. Every message says what is wrong and what to do; causes
are kept (`raise ... from error`). Exit codes are documented in docs/manual.md and stable:

    1  WeightlineError       anything else expected (the base class)
    2  usage                 a wrong command line (argparse)
    3  NotFound              no such version, stage, tag, file or commit
    4  Refused               a rule says no: the gate failed, uncommitted changes, immutability
    5  Conflict              another clone or the git remote already has that name
    6  IntegrityError        hashes disagree: corrupt or tampered weights, manifest or tag
    7  RemoteUnavailable     the DVC or git remote cannot be reached, or credentials are missing
    8  ConfigurationError    the project's settings or files are wrong (pyproject, dvc.yaml, .gto)
    9  SignatureError        input rows do not match a version's signature
  130  interrupted (Ctrl-C)  141  the reader of our output went away (a closed pipe)
"""


class WeightlineError(Exception):
    """A refusal or a failure the user can act on; the message says what to do."""

    exit_code = 1


class NotFound(WeightlineError):
    """A version, stage, tag, commit or file that does not exist."""

    exit_code = 3


class Refused(WeightlineError):
    """A rule refuses the request; nothing was changed."""

    exit_code = 4


class Conflict(Refused):
    """Someone else (another clone, CI) already wrote this name with other content."""

    exit_code = 5


class IntegrityError(WeightlineError):
    """Bytes that do not hash to what the registry recorded."""

    exit_code = 6


class RemoteUnavailable(WeightlineError):
    """A remote that cannot be reached, read or written (network, credentials, missing object)."""

    exit_code = 7


class ConfigurationError(WeightlineError):
    """The project's configuration or pipeline files are missing or wrong."""

    exit_code = 8


class SignatureError(WeightlineError):
    """Input that does not match a version's signature; the message names every feature at fault."""

    exit_code = 9


EXIT_CODES = {
    cls.__name__: cls.exit_code
    for cls in (
        WeightlineError,
        NotFound,
        Refused,
        Conflict,
        IntegrityError,
        RemoteUnavailable,
        ConfigurationError,
        SignatureError,
    )
}
