"""AI provider layer: one streaming interface over OpenAI, Anthropic, Gemini, OpenAI-compatible
endpoints and the offline `local` provider; the fallback router, profiles and prices from
config.json, and usage/cost records. A library: it never imports `server` or `tasks`."""
