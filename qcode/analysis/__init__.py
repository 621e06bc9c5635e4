"""Analysis of codings: excerpts, frequencies, cross-tabulations, intercoder agreement."""
