"""llmsync: a tidy, versioned Parquet dataset of open LLMs."""

__version__ = "0.1.0"
