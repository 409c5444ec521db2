//! Python environments against a real interpreter and real PyPI installs.
