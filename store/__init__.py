"""The SQL store: schema, engine set-up and migrations. Nothing here knows about the UI."""
