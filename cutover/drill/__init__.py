"""The air-gapped rollback rehearsal: sample data in, every step of the real rollback, a verdict out."""
