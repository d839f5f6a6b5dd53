"""The ``tvts-bench`` command line. One thin command per verb; the logic lives in the packages.

Sub-commands are imported lazily so that ``tvts-bench --help`` does not import torch.
"""

from __future__ import annotations

import importlib
import sys

import click

from . import __version__
from .errors import TvtsBenchError
from .runtime import prefer_passive_omp_wait

prefer_passive_omp_wait()          # before any sub-command imports torch (see runtime.py)

# verb -> "module:attribute" of a click command, and its one-line help (shown without importing it).
_COMMANDS: dict[str, tuple[str, str]] = {
    "world": ("tvts_bench.world.commands:world", "Generate the built-in world (videos + annotations in real formats)."),
    "data": ("tvts_bench.data.commands:data", "Check a dataset root: listed, found and missing videos, content hash."),
    "list": ("tvts_bench.listing:list_cmd", "List registered tasks, models or datasets."),
    "pretrain": ("tvts_bench.pretrain.commands:pretrain", "Pretrain TVTS (or an ablation / baseline objective)."),
    "check-model": ("tvts_bench.zoo.commands:check_model", "Load a model, run it on a few clips and check it."),
    "run": ("tvts_bench.bench.commands:run", "Evaluate a model on tasks and write result files."),
    "leaderboard": ("tvts_bench.report.commands:leaderboard", "Write the leaderboard (HTML, Markdown or CSV)."),
    "calibrate": ("tvts_bench.calibration.commands:calibrate",
                  "Measure the built-in world's floor and ceilings (reference rows for the leaderboard)."),
    "study": ("tvts_bench.study.commands:study",
              "Re-run the paper's ablations with seeds; paired differences and a verdict per claim."),
    "demo": ("tvts_bench.demo:demo", "The main job: world, pretraining, evaluation, leaderboard."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _COMMANDS:
            return None
        target, _ = _COMMANDS[name]
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("tvts_bench"):
                return _unavailable(name, str(e))
            raise
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in _COMMANDS.items()])


def _unavailable(name: str, why: str) -> click.Command:
    @click.command(name=name, help=f"(not available in this build: {why})")
    def cmd() -> None:
        raise TvtsBenchError(f"command {name!r} is not available: {why}")

    return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tvts-bench")
def cli() -> None:
    """TVTS pretraining and a transfer benchmark for video encoders.

    \b
    Main job on the built-in world:   tvts-bench demo
    Evaluate a model:                 tvts-bench run --model tvts --tasks ssv2-linear,msrvtt-ret
    Report:                           tvts-bench leaderboard
    """


def describe_os_error(e: OSError) -> str:
    """``cannot write /x/y: No space left on device`` from an OSError, without a traceback."""
    where = e.filename if e.filename is not None else "a file"
    extra = f" (and {e.filename2})" if getattr(e, "filename2", None) else ""
    return f"cannot read or write {where}{extra}: {e.strerror or e}"


def main(argv: list[str] | None = None) -> None:
    try:
        # standalone_mode=False makes click RETURN a command's exit code (click.exceptions.Exit) instead
        # of exiting with it: pass it on, so that a failure is never exit status 0.
        code = cli.main(args=argv, prog_name="tvts-bench", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except TvtsBenchError as e:
        from rich.console import Console
        from rich.markup import escape

        from .text_safety import printable_lines

        # Messages quote file contents (ids, lines, keys): what reaches the terminal must be inert.
        console = Console(stderr=True, highlight=False)
        console.print(f"[bold red]error:[/] {escape(printable_lines(e.message))}")
        if e.hint:
            console.print(f"  hint: {escape(printable_lines(e.hint))}")
        sys.exit(2)
    except OSError as e:
        # The environment refused a read or write (full disk, read-only folder, permissions): say which
        # file and why; everything written before is complete (writes are atomic).
        from rich.console import Console
        from rich.markup import escape

        from .text_safety import printable_lines

        console = Console(stderr=True, highlight=False)
        console.print(f"[bold red]error:[/] {escape(printable_lines(describe_os_error(e)))}")
        console.print("  hint: check free space and permissions there; work already written is complete "
                      "and is kept, and rerunning the command resumes it")
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted; work already written is kept and resumes on the next run", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("interrupted; work already written is kept and resumes on the next run", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
