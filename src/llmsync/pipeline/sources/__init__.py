"""The sync's upstream sources, listed in one place (`SOURCES`).

Each is one module behind one small interface (`base.Source`): the
leaderboards' commit histories, the official benchmarks, and the model repos
(cards, with the eval results riding on the same requests). The run fetches
them all at once, a source waiting for another's result where it reads it
(`fetching.fetch_sources`, `Landed.data`), and composes what they bring in this order without
naming one: the manifest's `sources` and `raw_objects`, the failures and
whether the snapshot is partial. The order is the data's: the models are the
repos the benchmarks (and, for a `leaderboards` population, the leaderboards)
name, so a source reads only sources listed before it.
"""

from typing import Any

from llmsync.pipeline.sources.base import (
    Fetched,
    Landed,
    Source,
    SourceRun,
    StageRunner,
    run_plain,
)
from llmsync.pipeline.sources.benchmarks import BENCHMARKS
from llmsync.pipeline.sources.leaderboards import LEADERBOARDS, built_scores
from llmsync.pipeline.sources.models import MODELS

SOURCES: tuple[Source[Any], ...] = (LEADERBOARDS, BENCHMARKS, MODELS)

__all__ = [
    "BENCHMARKS",
    "LEADERBOARDS",
    "MODELS",
    "SOURCES",
    "Fetched",
    "Landed",
    "Source",
    "SourceRun",
    "StageRunner",
    "built_scores",
    "run_plain",
]
