"""pgrunbook's command-line grammar on top of Invoke (issue 14, item 2).

* One meaning per short flag: `-i` inventory, `-p` playbook, `-j` json, `-r` run, `-y` yes, `-v`
  verbose, `-q` quiet, in every task that has the option, and no other short flag (`GrammarTask`,
  used by tasks.py).
* A usage error (unknown task or option, missing value or argument) says what was meant when a
  close match exists (difflib) and exits 2, as every other usage error of pgrunbook does.
  Invoke itself prints "No idea what '--inventroy' is!" and exits 1: `Program.run` hard-codes 1
  for a `ParseError`. `GrammarProgram` (the `python -m pgrunbook` entry) turns the parse errors
  into `Exit(code=2)`; `install_into_invoke()`, called by tasks.py, does the same for plain
  `inv`, whose Program loads tasks.py before it parses the task part of the command line.
* `inv TASK --help` works for a task with a positional argument (`backup.verify ID`): Invoke
  would otherwise take `--help` as the ID.

Light on purpose: imported by tasks.py, so `inv --list` stays fast.
"""

from __future__ import annotations

import ast
import difflib
import re
from typing import Any

from invoke import Exit, ParseError, Program, Task

EXIT_USAGE = 2

# The agreed short flags: an option with one of these names gets that letter, in every task; no
# other option gets a short flag (long options only). A one-letter option (`inv test -k EXPR -x`,
# pytest's own names) is its own name, not a short flag.
SHORT_FLAGS = {"inventory": "i", "playbook": "p", "json": "j", "run": "r", "yes": "y", "verbose": "v", "quiet": "q"}

HELP_FLAGS = ("--help", "-h")
_UNKNOWN = re.compile(r"^No idea what (.+) is!$")
_NEEDED_VALUE = re.compile(r"^Flag <Argument: ([\w-]+).*> needed value and was not given one!$")


class GrammarTask(Task):
    """An Invoke task whose short flags are exactly `SHORT_FLAGS`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["auto_shortflags"] = False
        super().__init__(*args, **kwargs)

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        if short and not opts["positional"] and short not in taken_names:
            opts["names"] = [*opts["names"], short]
        return opts


def _unknown_token(message: str) -> str | None:
    found = _UNKNOWN.match(message.strip())
    if not found:
        return None
    quoted = found.group(1)
    try:
        return str(ast.literal_eval(quoted))
    except (ValueError, SyntaxError):
        return quoted.strip("'\"")


def _long_flags(context: Any) -> list[str]:
    if context is None:
        return []
    return [flag for flag in [*context.flags.keys(), *context.inverse_flags.keys()] if flag.startswith("--")]


def explain(error: ParseError, program: Program, prog: str) -> str:
    """The parse error as pgrunbook says errors: what, then the next step (a close match if any)."""
    message = str(error)
    token = _unknown_token(message)
    parser = getattr(program, "parser", None)
    contexts = parser.contexts if parser is not None else {}
    initial = parser.initial if parser is not None else None
    context = getattr(error, "context", None)
    task = getattr(context, "name", None) if context is not None else None
    needed = _NEEDED_VALUE.match(message.strip())
    if needed:
        message = f"option --{needed.group(1).replace('_', '-')} needs a value"
    if token is None:
        where = f"`{prog} --help {task}`" if task else f"`{prog} --help TASK`"
        return f"error: {message}\nnext: {where} shows the task's options and an example"
    if token.startswith("-"):
        own = _long_flags(context) if task else []
        matches = difflib.get_close_matches(token, own, n=3, cutoff=0.6)
        if not matches and task:
            matches = difflib.get_close_matches(token, _long_flags(initial), n=3, cutoff=0.6)
        if task:
            what = f"error: `{prog} {task}` has no option {token}"
            help_step = f"`{prog} --help {task}` lists its options"
        else:
            what = f"error: unknown option {token} (a task's options go after the task name)"
            help_step = f"`{prog} --help TASK` lists a task's options"
            every = sorted({flag for name in contexts for flag in _long_flags(contexts[name])})
            matches = difflib.get_close_matches(token, every, n=3, cutoff=0.6) or difflib.get_close_matches(
                token, _long_flags(initial), n=3, cutoff=0.6)
        matches = _clearly_closest(token, matches)
        if matches:
            return f"{what}\ndid you mean: {' or '.join(matches)}?\nnext: {help_step}"
        return f"{what}\nnext: {help_step}"
    matches = difflib.get_close_matches(token, list(contexts), n=3, cutoff=0.6)
    what = f"error: no task named {token!r}" if not task else f"error: no task named {token!r} (after `{prog} {task}`)"
    if matches:
        return f"{what}\ndid you mean: {' or '.join(matches)}?\nnext: `{prog} --list` lists the tasks"
    return f"{what}\nnext: `{prog} --list` lists the tasks"


def _clearly_closest(token: str, matches: list[str]) -> list[str]:
    """The close matches that are about as close as the best: `--inventroy` means `--inventory`,
    not also `--verbose`."""
    ratio = {m: difflib.SequenceMatcher(None, token, m).ratio() for m in matches}
    best = max(ratio.values(), default=0.0)
    return [m for m in matches if ratio[m] >= best - 0.1]


def _help_before_positional(program: Program) -> str | None:
    """`inv backup.verify --help` means help for backup.verify, not the backup id '--help'."""
    tokens = list(program.core.unparsed)
    names = {alias: name for name, aliases in program.collection.task_names.items() for alias in [name, *aliases]}
    for index, token in enumerate(tokens[:-1]):
        if token in names and tokens[index + 1] in HELP_FLAGS and program.collection[names[token]].positional:
            return token
    return None


def _grammar_parse_tasks(original: Any, prog: str) -> Any:
    def parse_tasks(self: Program) -> None:
        try:
            help_for = _help_before_positional(self)
            if help_for:
                self.core.unparsed = []
            original(self)
            if help_for:
                self.args.help.value = help_for
        except ParseError as error:
            raise Exit(explain(error, self, prog), code=EXIT_USAGE) from error

    return parse_tasks


def _grammar_parse_cleanup(original: Any, prog: str) -> Any:
    def parse_cleanup(self: Program) -> None:
        try:
            original(self)
        except ParseError as error:
            raise Exit(explain(error, self, prog), code=EXIT_USAGE) from error

    return parse_cleanup


class GrammarProgram(Program):
    """Invoke's Program with pgrunbook's usage errors: did-you-mean, exit 2 (`python -m pgrunbook`)."""

    parse_tasks = _grammar_parse_tasks(Program.parse_tasks, "inv")
    parse_cleanup = _grammar_parse_cleanup(Program.parse_cleanup, "inv")


def install_into_invoke() -> None:
    """Give plain `inv` the same usage errors; called when tasks.py is loaded.

    `inv` is `invoke.main.program`, a plain `Program` that imports tasks.py (parse_collection)
    before parsing the tasks and their options (parse_tasks, parse_cleanup), so wrapping those
    two methods here is enough. Idempotent; a GrammarProgram is left as it is.
    """
    if getattr(Program, "_pgrunbook_grammar", False):
        return
    Program.parse_tasks = _grammar_parse_tasks(Program.parse_tasks, "inv")  # type: ignore[method-assign]
    Program.parse_cleanup = _grammar_parse_cleanup(Program.parse_cleanup, "inv")  # type: ignore[method-assign]
    Program._pgrunbook_grammar = True  # type: ignore[attr-defined]
