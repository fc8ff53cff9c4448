"""One component of the local stack in the foreground, as its image runs it.

``python -m questlog.stack.container NAME`` writes the component's configuration from the
settings (the tooling's, from ``QUESTLOG__*`` variables) and then becomes the component's
process, so the container's signals reach it directly. ``--check`` asks it the question the
local stack asks before calling it ready: the image's health check. ``--after-ready`` does
what the local stack does once it first answers (for Kafka: create the pipeline's topics).
"""

import argparse
import os
import sys

from questlog.settings import Settings
from questlog.stack.components import COMPONENTS
from questlog.stack.probes import NotReady


def main(argv: list[str] | None = None) -> int:
    components = {component.name: component for component in COMPONENTS}
    parser = argparse.ArgumentParser(
        prog="python -m questlog.stack.container", description=__doc__.splitlines()[0]
    )
    parser.add_argument("component", choices=sorted(components))
    once = parser.add_mutually_exclusive_group()
    once.add_argument("--check", action="store_true", help="ask if it answers; exit 1 if not")
    once.add_argument(
        "--after-ready", action="store_true", help="what the local stack does once it answers"
    )
    args = parser.parse_args(argv)
    component = components[args.component](Settings())
    if args.check or args.after_ready:
        try:
            print(component.probe() if args.check else component.after_ready() or "nothing to do")
        except NotReady as error:
            print(error, file=sys.stderr)
            return 1
        return 0
    component.prepare()
    command = component.command()
    component.data_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(component.data_dir)
    os.execvpe(command[0], command, {**os.environ, **component.environment()})


if __name__ == "__main__":
    sys.exit(main())
