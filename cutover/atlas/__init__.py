"""MongoDB Atlas Administration API v2: authentication and process measurements."""
from __future__ import annotations
