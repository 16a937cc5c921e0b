"""Exporters: a published snapshot's tables -> another project's format.

Each exporter is one module behind `llmsync export <name>`, listed once in
`command.EXPORTERS`. They read only published snapshots (checked against their
manifest, `snapshot.load`) and never the Hub.
"""
