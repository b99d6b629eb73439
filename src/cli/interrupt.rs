//! Ctrl-C and SIGTERM. During training the first one asks it to stop at its next progress
//! report (at most a few hundred steps away, never in the middle of writing a checkpoint), and
//! the command then fails with its last checkpoint intact; at any other time, or the second
//! time, the process exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;

/// Exit status of a process ended by an interrupt (128 + SIGINT).
const EXIT_INTERRUPTED: i32 = 130;

static STOPPABLE: AtomicBool = AtomicBool::new(false);
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler (once, at start-up).
pub fn install() -> Result<()> {
    ctrlc::set_handler(|| {
        if !STOPPABLE.load(Ordering::SeqCst) || REQUESTED.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_INTERRUPTED);
        }
        eprintln!("interrupted: stopping at the next progress report (again to quit now)");
    })
    .map_err(|e| anyhow::anyhow!("cannot install the interrupt handler: {e}"))
}

/// Runs `work`, which looks at `requested` now and then, as a section that an interrupt stops
/// through `requested` instead of by ending the process.
pub fn stoppable<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    STOPPABLE.store(true, Ordering::SeqCst);
    let result = work();
    STOPPABLE.store(false, Ordering::SeqCst);
    result
}

/// Whether an interrupt asked the running `stoppable` section to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
