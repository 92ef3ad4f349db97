"""Reading and writing note records (SPEC section 4): JSONL and CSV."""
