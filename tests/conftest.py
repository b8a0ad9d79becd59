"""Where the shared specification lives (``../shared`` beside the project by default).

Point the tests at another copy with ``--shared DIR`` or ``MECHLANG_SHARED=DIR``.
Tests that need it skip, with the reason, when it is absent.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The command line keeps compiled code in a user cache folder; the tests leave it alone
# (tests/test_cli.py checks the cache in a folder of its own).
os.environ.setdefault("MECHLANG_CACHE", "off")


def pytest_addoption(parser):
    parser.addoption(
        "--shared",
        action="store",
        default=None,
        help="the shared folder with spec/ and data/ (default: $MECHLANG_SHARED or ../shared)",
    )


def _shared(config) -> Path:
    given = config.getoption("--shared") or os.environ.get("MECHLANG_SHARED")
    return Path(given) if given else ROOT / ".." / "shared"


@pytest.fixture(scope="session")
def shared_dir(request) -> Path:
    path = _shared(request.config)
    if not path.is_dir():
        pytest.skip(f"the shared folder is absent ({path}); pass --shared DIR or set MECHLANG_SHARED")
    return path


@pytest.fixture(scope="session")
def spec_dir(shared_dir) -> Path:
    path = shared_dir / "spec"
    if not (path / "examples").is_dir():
        pytest.skip(f"no spec examples in {path}; pass --shared DIR or set MECHLANG_SHARED")
    return path
