//! The workshop's checks and the machinery that runs each of them in a lab of its own.

pub mod catalog;
pub mod cli;
pub mod coordinator;
pub mod doctor;
pub mod invariants;
pub mod lab_task;
pub mod probe;
pub mod report;
pub mod show;
pub mod sockets;
pub mod steps;
pub mod sudo;
pub mod trace;
pub mod verdict;
