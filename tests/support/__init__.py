"""Shared test support: real peers (wrangler, node, local HTTP servers), never mocks of our code."""
