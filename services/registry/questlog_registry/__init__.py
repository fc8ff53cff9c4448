"""The pilot registry of the space game: pilots with unique names, each flying a ship of
its alliance's fleet, and the weapons fitted to it. Stored through SQLAlchemy (SQLite by
default, PostgreSQL on Kubernetes); every enrolment and fitting is also an event."""
