//! `talent-bench crypto`: the signature primitives of the two cryptosuites side by side —
//! Ed25519 (`eddsa-jcs-2022`) and SM2 (`sm2-jcs-2025`) signs and verifies of the 64-byte
//! message each suite signs, on one core and on every core. These are the limits the
//! issuance and verification figures of an SM2 member are read against.

use anyhow::Context;
use clap::Args;

use crate::limits::{self, CPU_BUDGET};
use crate::procfs::{self, Machine};
use crate::report::{self, Table, thousands};

/// Options of `talent-bench crypto`.
#[derive(Debug, Args)]
pub struct CryptoArgs {
    /// Threads of the all-cores measurement (default: the cores available).
    #[arg(long)]
    pub threads: Option<u32>,
}

/// Measures and prints the table.
///
/// # Errors
/// A measurement failed.
pub fn run(args: &CryptoArgs) -> anyhow::Result<()> {
    let machine = Machine::current();
    println!("{}", report::header("crypto", &machine));
    let threads = match args.threads {
        Some(threads) => usize::try_from(threads).context("--threads")?,
        None => procfs::available_cores(),
    };
    println!("measuring (about {} s) …", 6 * CPU_BUDGET.as_secs());
    let ed_sign = limits::ed25519_sign()?;
    let ed_verify_one = limits::ed25519_verify_one()?;
    let ed_verify_all = limits::ed25519_verify(threads)?;
    let sm2_sign = limits::sm2_sign()?;
    let sm2_verify_one = limits::sm2_verify(1)?;
    let sm2_verify_all = limits::sm2_verify(threads)?;

    let mut table = Table::new(&[
        "operation (64-byte message)",
        "Ed25519 /s",
        "SM2 /s",
        "SM2 ÷ Ed25519",
    ]);
    let ratio = |sm2: f64, ed: f64| format!("{:.2}", sm2 / ed.max(1e-9));
    table.row(vec![
        "sign, 1 core".into(),
        thousands(ed_sign.per_second()),
        thousands(sm2_sign.per_second()),
        ratio(sm2_sign.per_second(), ed_sign.per_second()),
    ]);
    table.row(vec![
        "verify, 1 core".into(),
        thousands(ed_verify_one.per_second()),
        thousands(sm2_verify_one.per_second()),
        ratio(sm2_verify_one.per_second(), ed_verify_one.per_second()),
    ]);
    table.row(vec![
        format!("verify, {threads} threads"),
        thousands(ed_verify_all.per_second()),
        thousands(sm2_verify_all.per_second()),
        ratio(sm2_verify_all.per_second(), ed_verify_all.per_second()),
    ]);
    println!("{}", table.render());
    Ok(())
}
