"""The ``scc`` command: one entry point for the sandbox, the stages and the demo.

    scc sandbox serve [--port 0 --contacts N ...]   the local Eloqua Bulk API 2.0 sandbox
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(__doc__.strip())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "sandbox":
        from eloqua.sandbox.cli import main as sandbox_main

        return sandbox_main(rest)
    print(f"scc: unknown command {command!r}; run 'scc --help'", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
