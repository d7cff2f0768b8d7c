//! The values of options, checked as the command line is read: each parser's error is what
//! follows the option's name in the one-line error (`--level takes a number, not x`).

use clap::builder::PossibleValue;
use clap::ValueEnum;
use std::str::FromStr;
use std::sync::OnceLock;

/// A lab profile (`run --profile`): the lab crate's profiles, by their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile(pub lab::Profile);

impl ValueEnum for Profile {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: OnceLock<Vec<Profile>> = OnceLock::new();
        ALL.get_or_init(|| lab::Profile::ALL.into_iter().map(Profile).collect())
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()))
    }
}

/// A number (`--level`, `--runs`).
pub fn number<T: FromStr>(value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("takes a number, not '{value}'"))
}

/// A lab's PID (`show --lab`).
pub fn pid(value: &str) -> Result<u32, String> {
    value
        .parse()
        .map_err(|_| format!("takes the PID of a lab, not '{value}': cargo xtask show lists them"))
}

/// A TCP port (`book --port`).
pub fn port(value: &str) -> Result<u16, String> {
    value
        .parse()
        .map_err(|_| format!("takes a port number from 0 to 65535, not {value}"))
}

/// Where a traced probe is sent from (`trace --from`).
pub fn from(value: &str) -> Result<lab::endpoint::From, String> {
    lab::endpoint::parse_from(value)
}

/// Where a traced probe goes (`trace --to`).
pub fn to(value: &str) -> Result<lab::endpoint::To, String> {
    lab::endpoint::parse_to(value)
}
