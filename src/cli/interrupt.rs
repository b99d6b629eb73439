//! Ctrl-C and SIGTERM. During training the first one asks it to stop at its next progress
//! report (never in the middle of writing a checkpoint), and the command then fails with its
//! last checkpoint intact; if that report is more than `GRACE` away (a slow adapter, a long
//! submit), the process exits then anyway. At any other time, or the second time, the process
//! exits at once. Every exit on a signal first removes the temporary files of writes in
//! progress; the files they would replace are untouched.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;

/// Exit status of a process ended by an interrupt (128 + SIGINT).
const EXIT_INTERRUPTED: i32 = 130;
/// How long a stop at the next progress report may take before the process just exits.
const GRACE: std::time::Duration = std::time::Duration::from_secs(2);

static STOPPABLE: AtomicBool = AtomicBool::new(false);
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler (once, at start-up).
pub fn install() -> Result<()> {
    ctrlc::set_handler(|| {
        if !STOPPABLE.load(Ordering::SeqCst) || REQUESTED.swap(true, Ordering::SeqCst) {
            exit_now("interrupted");
        }
        eprintln!("interrupted: stopping at the next progress report (again to quit now)");
        std::thread::spawn(|| {
            std::thread::sleep(GRACE);
            exit_now("interrupted, and no progress report came to stop at");
        });
    })
    .map_err(|e| anyhow::anyhow!("cannot install the interrupt handler: {e}"))
}

fn exit_now(why: &str) -> ! {
    aeclust::output::remove_partial_files();
    eprintln!("error: {why}");
    std::process::exit(EXIT_INTERRUPTED)
}

/// Marks the start (true) or the end (false) of a section that looks at `requested` now and
/// then, and that an interrupt therefore stops through `requested` instead of by ending the
/// process.
pub fn set_stoppable(on: bool) {
    STOPPABLE.store(on, Ordering::SeqCst);
}

/// Whether an interrupt asked the running `stoppable` section to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
