"""D1: the trading_trades schema, SQL generation, id mapping, the API/wrangler sinks, the backfill."""
