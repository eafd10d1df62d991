"""The ``mmnet`` command line: argparse subcommands, one module each under ``mmnet.commands``.

This is the only place that turns an ``MMNetError`` into a one-line message and an exit code, and an
``OSError`` about a named path (a file where a folder goes, no permission, disk full) or about the disk
(full or read-only, from a library that names no file), or memory that ran out (MemoryError, torch's failed
allocation) into one too;
unexpected exceptions keep their traceback (they are bugs, and the traceback helps report them).

Exit codes (docs/cli.md): 0 done; 1 finished, but the result is incomplete or failed a --strict
check (a partial report, clips that failed to prepare, data errors under check-data --strict), or
the output was cut off (its reader closed the pipe, as `| head` does);
2 the command line cannot be parsed (argparse: unknown option, missing argument; no command); 3 an error
mmnet explains in one line (a bad value, a missing file, unusable data, a refused run folder);
130 interrupted (Ctrl-C); 143 stopped by SIGTERM (``kill``, a scheduler), and 129 by SIGHUP (the terminal, tmux
pane or ssh session closed), each handled as Ctrl-C is (except that SLURM fold jobs are left running).
A command with a run folder also writes its lines, timestamped, and its exit code to the folder's mmnet.log
(``mmnet.run_log``).
A closed standard output (``mmnet info | head -1``) ends the command quietly with 1; one that
cannot be written (a full disk) is a one-line error with 3.
"""

from __future__ import annotations

import argparse
import importlib
import re
import signal
import sys
import threading
from contextlib import contextmanager

# The exit codes of the docstring's table (EXIT_USAGE is argparse's own, see _Parser).
from .errors import (
    EXIT_ERROR,
    EXIT_HUNG_UP,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,  # noqa: F401 - importable as mmnet.cli.EXIT_OK, like the others
    EXIT_TERMINATED,
    EXIT_USAGE,
    HungUp,
    MMNetError,
    Terminated,
    UsageError,
    is_out_of_memory,
)

# What "interrupted: ..." adds: before a command starts, and for a command whose module sets no INTERRUPTED.
INTERRUPTED = "nothing was started"
RESUMABLE = "finished work is kept; rerun the same command to continue"

# Subcommand name -> module that defines ``add_arguments(parser)`` and ``run(args) -> int``.
# Modules import their heavy dependencies inside ``run`` so that ``--help`` stays fast.
COMMANDS: dict[str, str] = {
    "demo": "mmnet.commands.demo",
    "synth": "mmnet.commands.synth",
    "train": "mmnet.commands.train",
    "sweep": "mmnet.commands.sweep",
    "report": "mmnet.commands.report",
    "compare": "mmnet.commands.compare",
    "check-data": "mmnet.commands.check_data",
    "prepare": "mmnet.commands.prepare",
    "predict": "mmnet.commands.predict",
    "spot": "mmnet.commands.spot",
    "train-spotter": "mmnet.commands.train_spotter",
    "score-spots": "mmnet.commands.score_spots",
    "agree": "mmnet.commands.agree",
    "explain": "mmnet.commands.explain",
    "export": "mmnet.commands.export",
    "convert": "mmnet.commands.convert",
    "info": "mmnet.commands.info",
    "cache": "mmnet.commands.cache",
    "serve": "mmnet.commands.serve",
}


START_HERE = """\
Start here:
  mmnet demo                               no data needed: synthetic faces, a LOSO training and its
                                           report in a few minutes on a CPU
  mmnet spot RECORDING.mp4                 find the micro- and macro-expressions in a long video
  mmnet predict --checkpoint MODEL CLIP    classify a clip (a video or a folder of frames)
  mmnet serve                              the same on a web page (a model of mmnet demo --set
                                           train.save_models=true, or --checkpoint MODEL)
  mmnet check-data casme2 --root DIR       what a dataset copy holds, before training on it
Every command has --help with examples; the README and docs/ explain the terms and the results."""


class _Parser(argparse.ArgumentParser):
    """argparse exits with code 2 (EXIT_USAGE) on usage errors already; keep its one-line messages."""


class _Version(argparse.Action):
    """``--version``: the version, the git revision of a checkout and the code digest, which tells installed
    mmnets of one version apart; computed when asked, not for every command's parser."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0,
                         help="show the mmnet version, git revision (a checkout) and code digest, and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from .version import describe

        print(describe())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mmnet",
        description="Micro-expression recognition with MMNet (Li et al., IJCAI 2022).",
        epilog=START_HERE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # a command not written yet
        doc = (module.__doc__ or "").strip().splitlines()
        p = sub.add_parser(name, help=doc[0] if doc else None, description=(module.__doc__ or "").strip(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run, _interrupted=getattr(module, "INTERRUPTED", RESUMABLE),
                       _mimalloc=getattr(module, "ON_MIMALLOC", False))
    return parser


def _command_parser(parser: argparse.ArgumentParser, name: str, args=None) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (it names the command in its usage and errors: ``mmnet synth: error``); with
    ``args``, that of the command's own subcommand where it has one (``mmnet cache prune``)."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    nested = next((a for a in sub.choices[name]._actions if isinstance(a, argparse._SubParsersAction)), None)
    return sub.choices[name] if args is None or nested is None else nested.choices[getattr(args, nested.dest)]


class _StdoutWriteError(Exception):
    """Standard output could not be written (a full disk, a closed descriptor): not a bug, not a user's path."""


class _GuardedStdout:
    """``sys.stdout`` while a command runs: tells its write errors apart from other files' OSErrors."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _StdoutWriteError(exc.strerror or str(exc)) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _StdoutWriteError(exc.strerror or str(exc)) from exc

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    """Run one command line; returns the exit code (the module docstring lists them).

    A reader that stops early (``mmnet info | head -1``) closes stdout: mmnet then stops quietly
    with exit code 1 (the output was cut), as Python's documentation recommends
    (https://docs.python.org/3/library/signal.html#note-on-sigpipe), instead of a BrokenPipeError traceback.
    A standard output that cannot be written (``> /dev/full``, a full disk) is a one-line error, exit code 3.
    Called from Python (``argv`` given), what a command sets for its whole process (``PROCESS_VARIABLES``
    in os.environ, the settings training makes) is as it was when it returns.
    """
    from .progress import command_log

    _never_fail_to_encode()
    stream = sys.stdout
    if stream is not None:
        sys.stdout = _GuardedStdout(stream)
    try:
        try:
            with command_log():
                return _run_command(argv)
        finally:  # also on SystemExit (--help, --version): a closed pipe shows here, not at interpreter exit
            sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_INCOMPLETE
    except _StdoutWriteError as exc:
        _discard_stdout()
        print(f"error: the output could not be written to standard output ({exc}): the disk it goes to may be "
              "full, or it was closed. Free some space or write the output elsewhere.", file=sys.stderr)
        return EXIT_ERROR
    finally:
        sys.stdout = stream


def _never_fail_to_encode() -> None:
    """Print what the console's encoding lacks as ``\\u2192`` escapes instead of failing on it.

    Windows encodes a redirected stdout (``> log.txt``, a pipe) in its code page (cp1252) with strict
    errors: an arrow in a line, or a user's path with characters outside that code page, would end a finished
    training with a UnicodeEncodeError at its last line. The encoding is kept (the reader expects it).
    """
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        if encoding in ("utf-8", "utf8") or not hasattr(stream, "reconfigure"):
            continue
        try:
            stream.reconfigure(errors="backslashreplace")
        except (ValueError, OSError):  # a closed or detached stream: nothing will be printed there
            pass


def _discard_stdout() -> None:
    """Python flushes stdout again at exit: point it at devnull so that this does not fail too."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is no file (replaced by a caller)
        pass


@contextmanager
def _sigterm_as_interrupt():
    if threading.current_thread() is not threading.main_thread():  # signal handlers belong to the main thread
        yield
        return

    def stop(signum, frame):
        raise HungUp if signum == getattr(signal, "SIGHUP", None) else Terminated

    # SIGHUP (a closed terminal, tmux pane or ssh session) would end the process at once, locks and temporaries left
    # (not where it is ignored: nohup's)
    signums = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP")
                                  and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN else [])
    previous = {signum: signal.signal(signum, stop) for signum in signums}
    try:
        yield
    finally:  # a handler set outside Python reads as None and cannot be set back by signal.signal
        for signum, before in previous.items():
            signal.signal(signum, signal.SIG_DFL if before is None else before)


#: What a command sets in os.environ for its own process before its work (``runtime.enable_huge_pages``;
#: ``user_folders.use_writable_matplotlib_folder``). A call from Python gets them back as they were when it returns:
#: its later subprocesses would inherit them. (PyTorch reads THP_MEM_ALLOC_ENABLE once, at its first allocation: where
#: that happened during the call, huge pages stay on in the process, as no variable can undo.)
PROCESS_VARIABLES = ("THP_MEM_ALLOC_ENABLE", "MPLCONFIGDIR")


@contextmanager
def _process_kept(keep: bool):
    """With ``keep`` (a call from Python): ``PROCESS_VARIABLES`` and what training sets for the whole process
    (``mmnet.process_state``: denormals, malloc thresholds, cudnn.benchmark, threads, torch's random state) are set
    back when the command returns."""
    import os

    if not keep:
        yield
        return
    from .process_state import restored_process_state
    from .runtime import enable_huge_pages

    before = {name: os.environ.get(name) for name in PROCESS_VARIABLES}
    enable_huge_pages()  # before restored_process_state allocates a tensor: torch reads it at its first allocation
    try:
        with restored_process_state():
            yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_command(argv: list[str] | None) -> int:
    from .run_log import command_logs

    # argv None: the `mmnet` program, whose process ends with the command; else a call from Python
    with _sigterm_as_interrupt(), _process_kept(argv is not None), command_logs(argv) as ended:
        return ended(_run_command_unguarded(argv))


def _say(line: str, *, error: bool = True) -> None:
    """A command's last line on stderr, also in its run folder's mmnet.log (when it has one by then)."""
    from .run_log import copy

    print(line, file=sys.stderr)
    copy(line, error=error, last=True)


def _run_command_unguarded(argv: list[str] | None) -> int:
    args = None  # a command may reword its "interrupted: ..." line while it runs (args._interrupted)
    try:  # also around the parser: building it imports torch, seconds in which Ctrl-C is common
        from .runtime import enable_huge_pages, reexec_with_mimalloc
        from .user_folders import use_writable_matplotlib_folder

        enable_huge_pages()  # before any command imports torch
        use_writable_matplotlib_folder()  # before any command imports matplotlib
        parser = build_parser()
        args, unrecognized = parser.parse_known_args(argv)
        if getattr(args, "_run", None) is None:
            if unrecognized:
                parser.error(f"unrecognized arguments: {' '.join(unrecognized)}")
            parser.print_help(sys.stderr)  # a script that forgot the command gets a failure, not a help text
            return EXIT_USAGE
        command_parser = _command_parser(parser, args.command)
        if unrecognized:  # the command's usage, which lists its options, not the top level's
            command_parser.error(f"unrecognized arguments: {' '.join(unrecognized)}")
        if argv is None and args._mimalloc:  # a command line (not a call from Python) of a command doing tensor work:
            reexec_with_mimalloc()  # parsed, nothing done yet (--help, info, check-data ... start Python once)
        from .commands.common import check_path_encoding, resolve_out_alias

        resolve_out_alias(args, command_parser)
        check_path_encoding(args)
        return int(args._run(args) or 0)
    except MMNetError as exc:
        if isinstance(exc, UsageError) and getattr(args, "command", None):  # the command's usage, exit 2
            _command_parser(parser, args.command, args).error(str(exc))
        _say(f"error: {exc}")
        return EXIT_ERROR
    except OSError as exc:
        from .utils import DISK_REFUSALS

        if exc.filename is None and exc.errno in DISK_REFUSALS:  # a library's write (savefig) that names no file
            _say("error: no space left on the disk (or it is read-only): free space or choose another --out "
                 f"({exc.strerror or exc}).{_kept(args)}")
            return EXIT_ERROR
        if exc.filename is None or exc.strerror is None:
            raise  # not about a path the user gave: a bug, keep the traceback
        from .path_words import file_in_the_way, os_error_advice

        if in_the_way := file_in_the_way(exc, args, _command_parser(parser, args.command, args) if args else None):
            _say(f"error: {in_the_way}")  # no "rerun the same command": the path must change first
            return EXIT_ERROR
        where = f"'{exc.filename2}' (from '{exc.filename}')" if exc.filename2 else f"'{exc.filename}'"
        _say(f"error: {where}: {exc.strerror}. {os_error_advice(exc)}{_kept(args)}")
        return EXIT_ERROR
    except (MemoryError, RuntimeError) as exc:
        if not is_out_of_memory(exc):
            raise  # a bug: keep the traceback
        _say(f"error: {_out_of_memory_line(exc, args)}")
        return EXIT_ERROR
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM and SIGHUP turned into one (Terminated, HungUp)
        from .run_log import stop_note

        kept = stop_note()  # a training's folds finished and where the fold in training resumes
        said = f"{getattr(args, '_interrupted', INTERRUPTED)}{f'; {kept}' if kept else ''}"
        if isinstance(exc, Terminated):
            _say(f"stopped ({'SIGHUP' if isinstance(exc, HungUp) else 'SIGTERM'}): {said}", error=False)
            return EXIT_HUNG_UP if isinstance(exc, HungUp) else EXIT_TERMINATED
        _say(f"interrupted: {said}", error=False)
        return EXIT_INTERRUPTED


def _kept(args) -> str:
    """What a command that stopped on an error keeps, for the commands whose rerun continues (as Ctrl-C says)."""
    if getattr(args, "_interrupted", None) != RESUMABLE:
        return ""
    return f" {RESUMABLE[:1].upper()}{RESUMABLE[1:]}."


# Commands that train, and what makes their memory smaller; the others read one clip or recording at a time.
_TRAINING = ("train", "sweep", "demo", "train-spotter")
_LESS_MEMORY = {"predict": "a smaller --batch-size"}


def _out_of_memory_line(exc: BaseException, args) -> str:
    """The one line for memory that ran out: where, how much was asked for if torch said, and what to do."""
    text = str(exc)
    where = "the GPU" if ("CUDA" in text or "MPS" in text) else "this computer"
    asked = re.search(r"tried to allocate (\d+) bytes", text, re.IGNORECASE)
    asked_gib = re.search(r"tried to allocate ([\d.]+ [KMGT]iB)", text, re.IGNORECASE)
    size = (f" allocating {int(asked.group(1)) / 2**30:.2f} GiB" if asked
            else f" allocating {asked_gib.group(1)}" if asked_gib else "")
    command = getattr(args, "command", None)
    if command in _TRAINING:
        remedy = ("use less: a smaller --set train.batch_size=N (halve it) or --set data.image_size=N, and close "
                  "other programs")
    elif command in _LESS_MEMORY:
        remedy = f"use less: {_LESS_MEMORY[command]}, and close other programs"
    else:
        remedy = "close other programs, or give it a shorter or smaller input"
    kept = getattr(args, "_interrupted", INTERRUPTED).rstrip(".")
    return f"{where} ran out of memory{size}: {remedy}. {kept[:1].upper()}{kept[1:]}."


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
