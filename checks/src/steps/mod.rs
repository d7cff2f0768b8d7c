//! The checks of each step, one module per set of checks. A step's declaration
//! (`steps/*/step.toml`) names the set that judges it (`checks = "02"`; by default its number).

mod observe;

/// Declares the check modules and the table from a set's id to its checks.
macro_rules! check_sets {
    ($($id:literal => $module:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every set of checks, by id, in order.
        pub const SETS: &[(&str, &[crate::catalog::Check])] = &[$(($id, $module::CHECKS)),*];
    };
}

// A new set of checks: its module file and one line here.
check_sets! {
    "01" => s01,
    "02" => s02,
    "03" => s03,
    "04" => s04,
    "05" => s05,
    "06" => s06,
}
