"""Detection: entity maps, current schedules, comparisons (issue candidates) and dq.issues.

The rules are SQL over DuckDB in ``sql/`` (one script per table it builds); this package runs them:
``scripts`` (one transaction per step, prerequisites named in each script), ``candidates`` (the
comparisons and the tables they write), ``incremental`` (which part of a comparison needs
re-evaluating), ``issue_table`` (dq.issues from every candidate table), ``tolerances`` (the knobs).
"""
