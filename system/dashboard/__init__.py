"""The customer dashboard: magic-link and API-key sign-in, overview, usage, API keys,
billing, the GitHub workflow generator, and live updates by server-sent events."""
