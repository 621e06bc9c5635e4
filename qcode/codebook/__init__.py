"""The YAML codebook: model and validation (model.py), sync to the store (sync.py)."""
