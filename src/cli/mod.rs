//! The commands of the `aeclust` binary: flags and printing only; the work is in the library.

pub mod args;
pub mod assign;
pub mod bench;
pub mod cluster;
pub mod console;
pub mod encode;
pub mod export;
pub mod features;
pub mod info;
pub mod interrupt;
pub mod run;
pub mod train;
