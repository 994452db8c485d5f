"""The entry point: parse, run the command's handler, and map every outcome to an exit code."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

from wizard.cli.parser import build_parser, command_of, handler_module, with_default_command
from wizard.environment import Environment
from wizard.errors import ExitCode, InterruptedByUserError, StaydownError
from wizard.output.terminal_text import printable

CommandHandler = Callable[..., int]


def run(argv: Sequence[str], env: Environment) -> int:
    """Parse and dispatch; errors propagate to :func:`main`."""
    arguments = with_default_command(argv)
    # Only the command given is defined: the others' options would cost every run.
    args = build_parser(command_of(arguments)).parse_args(arguments)
    # A command's module is imported when it runs: diagnose --json is run from
    # scripts and monitoring and must not pay for rich, questionary or Jinja2
    # (docs/performance.md). The parser only accepts the commands there are.
    handler: CommandHandler = importlib.import_module(handler_module(args.command)).run
    return handler(args, env)


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run staydown and map every outcome to an exit code (docs/exit-codes.md)."""
    env = env or Environment()
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    try:
        try:
            return int(run(arguments, env))
        except (KeyboardInterrupt, EOFError) as interrupt:
            raise InterruptedByUserError("interrupted; nothing was written") from interrupt
    except StaydownError as error:
        if debug:
            _print_traceback(env)
        env.stderr.write(f"staydown: error: {printable(error.message)}\n")
        if error.hint:
            env.stderr.write(f"  hint: {printable(error.hint, keep_newlines=True)}\n")
        return int(error.exit_code)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as error:
        if debug:
            _print_traceback(env)
        env.stderr.write(
            f"staydown: internal error: {printable(repr(error))}\n"
            "  hint: this is a bug in staydown; run again with --debug and report it\n"
        )
        return int(ExitCode.INTERNAL)


def _print_traceback(env: Environment) -> None:
    import traceback  # only for --debug: it costs a few ms of every run's start-up

    traceback.print_exc(file=env.stderr)
