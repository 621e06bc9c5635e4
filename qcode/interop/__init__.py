"""Exchange with other qualitative-analysis programs: REFI-QDA codebooks and projects,
QualCoder and Taguette projects."""
