"""The pipeline: the sync's upstream sources (`sources`, listed in one place),
its stages (`stages`), their one composition (`run`),
the run's report (`report`) and rebuilding a snapshot from raw (`rebuild`).

Importers use this package's names; the modules behind them are free to move.
"""

from llmsync.pipeline.model_fetch import ModelFetch
from llmsync.pipeline.rebuild import check_raw_objects, compare_with_snapshot, rebuild_from_raw
from llmsync.pipeline.report import SyncFailed, SyncReport
from llmsync.pipeline.revision import LeaderboardRevision
from llmsync.pipeline.run import StageRunner, run_plain, run_sync
from llmsync.pipeline.scores import PriorScores, ScoresBuild, build_scores, read_prior
from llmsync.pipeline.sources import SOURCES, Fetched, Source
from llmsync.pipeline.sources.leaderboards import fetch_leaderboards
from llmsync.pipeline.stages import (
    DEFAULT_CARD_MAX_BYTES,
    TRANSIENT_MODEL_STATUSES,
    SyncConfig,
    build_models,
    fetch_models,
    fingerprint,
    merge,
    tracked_repos,
    validate,
)

__all__ = [
    "DEFAULT_CARD_MAX_BYTES",
    "SOURCES",
    "TRANSIENT_MODEL_STATUSES",
    "Fetched",
    "LeaderboardRevision",
    "ModelFetch",
    "PriorScores",
    "ScoresBuild",
    "Source",
    "StageRunner",
    "SyncConfig",
    "SyncFailed",
    "SyncReport",
    "build_models",
    "build_scores",
    "check_raw_objects",
    "compare_with_snapshot",
    "fetch_leaderboards",
    "fetch_models",
    "fingerprint",
    "merge",
    "read_prior",
    "rebuild_from_raw",
    "run_plain",
    "run_sync",
    "tracked_repos",
    "validate",
]
