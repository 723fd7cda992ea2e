"""The browser side seen from HTTP: CORS, WebSocket admission, static files, logs."""
