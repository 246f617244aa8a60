//! Runnable example programs for the workspace; see the `examples/` folder of this package.
