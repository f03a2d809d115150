"""One router per resource; every handler parses, calls one service, and returns its result."""
