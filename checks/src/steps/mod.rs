//! The checks of each step, one module per step.

pub mod s01;
mod observe;
