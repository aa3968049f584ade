"""HTTP front doors: the native API, the dialects and the WebSocket streams."""
