"""llmsync: a tidy, versioned Parquet dataset of open LLMs."""

from importlib.metadata import PackageNotFoundError, version

try:
    # One source of truth: the version in pyproject.toml, as installed.
    __version__ = version("llmsync")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
