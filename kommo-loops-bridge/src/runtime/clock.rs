//! The runtime's only reads of the clock. The engine never reads it (clippy forbids that in
//! this crate); the runtime passes what it reads here into the engine and the stores.

use std::time::{Instant, SystemTime};

/// Wall-clock time, for timestamps that are stored or compared across processes.
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> SystemTime {
    SystemTime::now()
}

/// Monotonic time, for in-process windows.
#[allow(clippy::disallowed_methods)]
pub(crate) fn instant() -> Instant {
    Instant::now()
}
