//! The checks of each step, one module per step.

mod observe;
pub mod s01;
