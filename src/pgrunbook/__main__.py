"""`python -m pgrunbook TASK ...`: the same tasks as `inv` (tasks.py, found as `inv` finds it), same usage errors."""

from invoke import __version__ as invoke_version

from pgrunbook import __version__
from pgrunbook.program import GrammarProgram

program = GrammarProgram(name="pgrunbook", binary="python -m pgrunbook", binary_names=["pgrunbook"],
                         version=f"{__version__} (invoke {invoke_version})")

if __name__ == "__main__":
    program.run()
