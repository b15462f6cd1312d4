"""Create (or drop) an empty database on the test PostgreSQL, for CI's migration check.

    python scripts/empty_database.py create        # prints the new database's URL
    python scripts/empty_database.py drop URL
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services import TestServices, create_database, drop_database


def main(argv: list[str]) -> None:
    services = TestServices()
    if services.embedded is not None:
        raise SystemExit("no PostgreSQL server found (set TEST_DATABASE_URL)")
    if argv[:1] == ["create"]:
        print(asyncio.run(create_database(services.database_url)))
    elif argv[:1] == ["drop"] and len(argv) == 2:
        asyncio.run(drop_database(services.database_url, argv[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
