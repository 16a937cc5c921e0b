"""The report: one self-contained HTML file of a published snapshot, its charts
drawn as static SVG (`write_report`)."""
