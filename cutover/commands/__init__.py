"""One module per command: `add_arguments(parser)` and `run(args) -> int`.

Keep module top levels light (argparse only): heavy imports go inside `run` so that
`cutover --help` and every command start fast.
"""
