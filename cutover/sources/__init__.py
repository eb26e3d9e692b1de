"""Mongo sources behind one interface (`base.MongoSource`); `open_source` picks one from a spec.

Specs: `export:DIR_OR_FILE`, `dataapi:https://…/endpoint/data/v1`, `mongodb://…`,
`mongodb+srv://…` (bare scheme = take the whole URI from MONGODB_URI).
"""
