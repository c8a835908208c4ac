"""`coloredit`: parse, run the subcommand, and turn every failure into one line and an exit code."""

from __future__ import annotations

import sys

from ..errors import ColorEditError
from .app import run_app
from .batch import run_batch
from .bench import run_bench
from .colorways import run_colorways
from .demo import run_demo
from .edit import run_edit
from .loading import set_threads
from .mask import run_mask
from .parser import build_parser

COLOR_OPTIONS = ("--color", "--colors")  # their values may start with '-' ("-1,0,0"): a bad color, not an option


def _attached(argv: list[str]) -> list[str]:
    """`--color -1,0,0` as `--color=-1,0,0`, so argparse hands the value over and the color check can say
    what is wrong with it, in one line (argparse would print the whole usage)."""
    out: list[str] = []
    for token in argv:
        if out and out[-1] in COLOR_OPTIONS and token.startswith("-") and not token.startswith("--"):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"coloredit: warning: {str(message).splitlines()[0]}", file=sys.stderr)


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading
    import warnings

    args = build_parser().parse_args(_attached(list(sys.argv[1:] if argv is None else argv)))
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupted)  # a kill ends like Ctrl-C: one line, nothing partial
    if args.threads is not None and args.threads < 1:
        print("coloredit: error: --threads must be at least 1", file=sys.stderr)
        return 2
    set_threads(args.threads)
    for option in ("mask_refine", "output_profile", "engine"):  # config fields with their own flags
        if getattr(args, option, None):
            args.overrides.append(f"{option}={getattr(args, option)}")
    try:
        commands = {
            "edit": run_edit,
            "colorways": run_colorways,
            "mask": run_mask,
            "app": run_app,
            "batch": run_batch,
            "demo": run_demo,
            "bench": run_bench,
        }
        with warnings.catch_warnings():  # ours and the libraries': one line each on stderr
            warnings.showwarning = _one_line_warning
            return commands[args.command](args)
    except ColorEditError as error:
        print(f"coloredit: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("coloredit: interrupted (nothing partial was written)", file=sys.stderr)
        return 130
    except MemoryError:
        print("coloredit: error: out of memory: try --dtype float16, fewer --steps or a GPU", file=sys.stderr)
        return 2
    except RuntimeError as error:
        if "out of memory" in str(error).lower() or "can't allocate" in str(error).lower():
            print("coloredit: error: out of memory: try --dtype float16, fewer --steps or a GPU", file=sys.stderr)
            return 2
        raise
