//! A typed client for the Loops REST API v1.
