"""The one fit pipeline (validate, decide, scale, warm-start, build, train, checkpoint,
evaluate, record) over any source: an in-memory array or a file read in chunks."""
