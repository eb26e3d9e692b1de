from __future__ import annotations

from cutover.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
