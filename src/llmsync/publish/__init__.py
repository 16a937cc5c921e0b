"""Publishing snapshots where analysts read them.

Each publisher is one module behind one small interface (`base.Publisher`),
chosen by the target URL's scheme and listed once, in `targets.PUBLISHERS`:
`s3://BUCKET/PREFIX` (any S3-compatible store, `s3.py`) and
`hf://datasets/OWNER/NAME` (a Hugging Face dataset repo, `hub.py`). The remote
layout is the local one, so a recipe that reads `data/processed/` reads the
target with its URL in place of the folder.
"""
