"""Reading and writing note records (docs/formats.md): JSONL and CSV."""
