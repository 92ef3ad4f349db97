"""The labeled corpus: loading, validation, composition and extraction evaluation."""
