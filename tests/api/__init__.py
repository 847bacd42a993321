"""API tests: a real server over HTTP."""
