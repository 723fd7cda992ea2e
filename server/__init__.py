"""The Litestar application: settings, database, accounts, projects, chat, phases, documents,
exports and admin."""
