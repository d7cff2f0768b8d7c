//! The checks of each step, one module per set of checks. A step's declaration
//! (`steps/*/step.toml`) names the set that judges it (`checks = "02"`; by default its number).

pub(crate) mod flocks;
pub(crate) mod observe;

/// Declares the check modules and the table from a set's id to its checks.
macro_rules! check_sets {
    ($($id:literal => $module:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every set of checks, by id, in order.
        pub const SETS: &[(&str, &[crate::catalog::Check])] = &[$(($id, $module::CHECKS)),*];

        /// Every set's groups of checks that share one lab and its containers: checks that
        /// only look at the containers they share (read, ping, connect), so that what one of
        /// them sees does not depend on another having run.
        pub const TOGETHER: &[(&str, &[&[&str]])] = &[$(($id, $module::TOGETHER)),*];
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
    "07" => s07,
    "08" => s08,
    "09" => s09,
    "10" => s10,
}

#[cfg(test)]
mod tests {
    use lab::addresses::containers::{FIRST, FIRST_CIDR, GATEWAY, GATEWAY_CIDR, LAST, SUBNET};
    use lab::addresses::routed;

    /// The titles are constant text: every container address they name is one of the plan's.
    #[test]
    fn the_titles_name_the_addressing_plan() {
        let plan = [
            SUBNET.to_string(),
            GATEWAY.to_string(),
            FIRST.to_string(),
            LAST.to_string(),
            GATEWAY_CIDR.to_string(),
            FIRST_CIDR.to_string(),
            routed::POOL.to_string(),
        ];
        for (set, checks) in super::SETS {
            for check in *checks {
                for word in check
                    .title
                    .split(|c: char| !(c.is_ascii_digit() || "./".contains(c)))
                {
                    let word = word.trim_end_matches('.');
                    if word.starts_with("10.") {
                        assert!(
                            plan.contains(&word.to_string()),
                            "{set}.{}: {word}",
                            check.name
                        );
                    }
                }
            }
        }
        let routes = super::s03::EXPECTED_ROUTES;
        assert!(routes.contains(SUBNET) && routes.contains(&format!("via {GATEWAY}")));
    }
}
