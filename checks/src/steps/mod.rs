//! The checks of each step, one module per step.

mod observe;
pub mod s01;
pub mod s02;
pub mod s03;
pub mod s04;
pub mod s05;
pub mod s06;
