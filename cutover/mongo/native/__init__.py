"""A minimal, read-only MongoDB driver in pure standard library (BSON, OP_MSG, SCRAM, TLS, SRV).

`source.NativeSource` is the `MongoSource` for `mongodb://` and `mongodb+srv://` specs.
"""
