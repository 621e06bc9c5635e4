"""Writing files out of a project: reports (and, later, spreadsheets and REFI-QDA)."""
