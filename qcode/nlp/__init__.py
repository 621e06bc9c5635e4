"""spaCy pipelines and (later) suggesters. Importing this package does not import spaCy."""
