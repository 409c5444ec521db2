//! Python environments: one cached virtual environment per (interpreter, requirements).
//! (Being written.)
