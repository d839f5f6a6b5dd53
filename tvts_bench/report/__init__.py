"""Leaderboard reports: read result files, aggregate seeds, compare models, render HTML / Markdown / CSV.

``aggregate.build_leaderboard(results_dir)`` is the entry point; ``html``, ``markdown`` and ``csv``
render its ``Leaderboard``; ``paper`` holds the paper's reported numbers; ``commands`` is the CLI verb.
"""
