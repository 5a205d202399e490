"""The report stage: merge and gate (``matrix``), Markdown/CSV/JSON (``render``), the HTML
page, the heatmap, and the generated docs."""
