"""`weightline completion bash|zsh`: shell completion of commands, options and live values.

One line installs it: `eval "$(weightline completion bash)"` (or `zsh`) in ~/.bashrc or ~/.zshrc.
At each TAB the script asks `weightline completion --complete SHELL LINE` for the candidates,
LINE being the command line up to the cursor (bash: as typed; zsh: its words, quoted).

Hand-written over the real argparse parser rather than argcomplete: the parser stays the one
source of commands and options, no dependency is added, the same code answers bash and zsh,
and tests call `candidates()` with partial command lines. Live values (versions, stages held,
stage names, the artifact) come from the SQLite index, which answers in milliseconds; any
failure there (no project here, a broken pyproject) means no live values, never an error.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

from weightline.cli.main import Adder

FILES = "__weightline_files__"  # "complete a file name here": the shell does that itself
REF_DESTS = frozenset(("ref", "refs", "old", "new"))
STAGE_DESTS = frozenset(("stage", "to"))
FILE_DESTS = frozenset(("data", "input", "output", "log"))
BASH_BREAKS = "=:"  # in bash's COMP_WORDBREAKS: it completes only the text after them

BASH = """\
# weightline completion for bash: eval "$(weightline completion bash)" in ~/.bashrc
_weightline() {
    local IFS=$'\\n'
    local -a found
    found=($(weightline completion --complete bash "${COMP_LINE:0:COMP_POINT}" 2>/dev/null))
    if [[ "${found[0]}" == "__weightline_files__" ]]; then
        COMPREPLY=()  # -o default: bash completes a file name
        return
    fi
    COMPREPLY=("${found[@]}")
}
complete -o default -F _weightline weightline
"""

ZSH = """\
# weightline completion for zsh: eval "$(weightline completion zsh)" in ~/.zshrc
_weightline() {
    local -a found
    found=("${(@f)$(weightline completion --complete zsh "${(j: :)${(@qq)words[1,CURRENT]}}" \\
        2>/dev/null)}")
    if [[ "${found[1]}" == "__weightline_files__" ]]; then
        _files
        return
    fi
    [[ -n "${found[1]}" ]] && _describe -t values weightline found
}
if (( ! $+functions[compdef] )); then
    autoload -Uz compinit && compinit
fi
compdef _weightline weightline
"""


def cmd_completion(args: argparse.Namespace) -> None:
    if not args.complete:
        print(BASH if args.shell == "bash" else ZSH, end="")
        return
    if args.shell == "bash":  # the line as typed: a trailing space starts a new word
        words = split_line(args.line or "")[1:]
    else:  # zsh's words, each quoted: the last one is the word at the cursor, maybe ''
        words = quoted_words(args.line or "")[1:]
    words = words or [""]
    found = candidates(words)
    if args.shell == "bash":
        print("\n".join(trim_for_bash(words[-1], value) for value, _ in found))
    else:  # _describe's "value:description", a colon in the value escaped
        print(
            "\n".join(value.replace(":", r"\:") + f":{help}" * bool(help) for value, help in found)
        )


def split_line(line: str) -> list[str]:
    """Bash's command line up to the cursor, as words; a trailing space starts a new one."""
    try:
        words = shlex.split(line)
    except ValueError:  # an open quote: the word being typed
        words = line.split()
    if not line or line[-1].isspace():
        words.append("")
    return words


def quoted_words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def trim_for_bash(current: str, value: str) -> str:
    """Bash replaces only the text after the last `=` or `:` of the word: drop what precedes."""
    cut = max(current.rfind(c) for c in BASH_BREAKS)
    return value[cut + 1 :] if cut >= 0 and value.startswith(current[: cut + 1]) else value


# ---- what to offer ------------------------------------------------------------------------


def candidates(
    words: Sequence[str],
    parser: argparse.ArgumentParser | None = None,
    values: Callable[[str, str], list[str]] | None = None,
) -> list[tuple[str, str]]:
    """(value, help) pairs for the last of `words` (the words after `weightline`, up to the
    cursor; the last may be empty or partly typed). `values(kind, typed)` gives live values."""
    from weightline.cli.main import build_parser

    parser = parser or build_parser()
    values = values or live_values
    *done, current = list(words) or [""]
    commands = subcommands(parser)
    # The root's options (-v, -q, --traceback) take no value: the first other word is the command.
    position = next((i for i, word in enumerate(done) if not word.startswith("-")), None)
    if position is None:
        if current.startswith("-"):
            return matching(option_strings(parser), current)
        return matching([(name, help) for name, (_, help) in commands.items()], current)
    if done[position] not in commands:
        return []
    command = commands[done[position]][0]
    return complete_command(command, done[position + 1 :], current, values)


def complete_command(
    command: argparse.ArgumentParser,
    done: Sequence[str],
    current: str,
    values: Callable[[str, str], list[str]],
) -> list[tuple[str, str]]:
    options = {o: a for a in command._actions for o in a.option_strings}
    positionals = [a for a in command._actions if not a.option_strings]
    expecting: argparse.Action | None = None
    consumed = 0
    only_positionals = False
    for word in done:
        if expecting is not None:
            expecting = None
        elif word == "--":
            only_positionals = True
        elif word.startswith("-") and not only_positionals and word != "-":
            action = options.get(word.split("=", 1)[0])
            if action is not None and takes_value(action) and "=" not in word:
                expecting = action
        else:
            consumed += 1
    if expecting is not None:
        return action_values(expecting, current, values)
    if current.startswith("--") and "=" in current:
        name, _, typed = current.partition("=")
        action = options.get(name)
        if action is None or not takes_value(action):
            return []
        return [(f"{name}={value}", help) for value, help in action_values(action, typed, values)]
    if current.startswith("-") and not only_positionals:
        return matching(option_strings(command), current)
    slot = positional_at(positionals, consumed)
    if slot is None:
        return matching(option_strings(command), current) if not current else []
    return action_values(slot, current, values)


def takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0 and not isinstance(
        action, argparse._HelpAction | argparse._VersionAction
    )


def positional_at(positionals: list[argparse.Action], consumed: int) -> argparse.Action | None:
    """The positional argument that the next word fills, after `consumed` words."""
    for action in positionals:
        if action.nargs in ("*", "+", argparse.REMAINDER):
            return action
        count = action.nargs if isinstance(action.nargs, int) else 1
        if consumed < count:
            return action
        consumed -= count
    return None


def action_values(
    action: argparse.Action, typed: str, values: Callable[[str, str], list[str]]
) -> list[tuple[str, str]]:
    if action.choices:
        return matching([(str(c), "") for c in action.choices], typed)
    dest = action.dest
    if dest in FILE_DESTS:
        return [(FILES, "")]
    kind = "refs" if dest in REF_DESTS else "stages" if dest in STAGE_DESTS else dest
    return matching([(value, "") for value in values(kind, typed)], typed)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[argparse.ArgumentParser, str]]:
    """name -> (its parser, its one-line help), in the order the parser lists them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            return {name: (sub, helps.get(name, "")) for name, sub in action.choices.items()}
    return {}


def option_strings(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    return [
        (option, action.help or "")
        for action in parser._actions
        if action.help != argparse.SUPPRESS
        for option in action.option_strings
    ]


def matching(pairs: list[tuple[str, str]], typed: str) -> list[tuple[str, str]]:
    seen: set[str] = set()
    found = []
    for value, help in pairs:
        if value.startswith(typed) and value not in seen:
            seen.add(value)
            found.append((value, help))
    return found


# ---- live values from the project ---------------------------------------------------------


def live_values(kind: str, typed: str, root: Path | None = None) -> list[str]:
    """Versions and stages from the index, stage names from .gto, the artifact's name; nothing
    (rather than an error) outside a project or when anything goes wrong."""
    try:
        from weightline import api

        settings = api.settings(root)
        if kind == "stages":
            return list(settings.stages)
        if kind == "artifact":
            return [settings.artifact]
        if kind != "refs":
            return []
        from weightline.store.index import open_index

        with open_index(settings) as index:
            versions = [
                v
                for (v,) in index.conn.execute("SELECT version FROM versions ORDER BY ordinal DESC")
            ]
            held = sorted(index.stage_holders())
    except Exception:
        return []
    if "@" in typed:  # the artifact@vX.Y.Z spelling
        return [f"{settings.artifact}@{v}" for v in versions]
    return [*versions, *held, "HEAD"]


def add_commands(add: Adder) -> None:
    completion = add(
        "completion",
        cmd_completion,
        'print shell completion: eval "$(weightline completion bash)" (or zsh)',
    )
    completion.add_argument("shell", choices=["bash", "zsh"])
    completion.add_argument("--complete", action="store_true", help=argparse.SUPPRESS)
    completion.add_argument("line", nargs="?", help=argparse.SUPPRESS)
