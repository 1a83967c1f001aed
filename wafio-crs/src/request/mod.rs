//! The HTTP request model. IN PROGRESS: nothing here yet.
